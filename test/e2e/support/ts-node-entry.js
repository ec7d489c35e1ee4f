/**
 * Child-process entry for the e2e tests: runs src/cli.ts's main() — what bin/ssl-bench.js runs
 * from dist/ — straight from the TypeScript sources, compiled on require by @swc/core (the same
 * compiler jest uses), so the tests never depend on a stale build.
 *
 *   node test/e2e/support/ts-node-entry.js run <config> [options]
 */
'use strict';
const path = require('node:path');

const SRC = path.resolve(__dirname, '..', '..', '..', 'src');

require('../../support/register-ts.js');

require(path.join(SRC, 'cli.ts')).main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err && err.stack ? err.stack : String(err)); process.exitCode = 1; },
);
