/**
 * Child-process entry for the e2e tests: runs src/cli.ts's main() — what bin/ssl-bench.js runs
 * from dist/ — straight from the TypeScript sources, compiled on require by @swc/core (the same
 * compiler jest uses), so the tests never depend on a stale build.
 *
 *   node test/e2e/support/ts-node-entry.js run <config> [options]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

const SRC = path.resolve(__dirname, '..', '..', '..', 'src');

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};

require(path.join(SRC, 'cli.ts')).main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err && err.stack ? err.stack : String(err)); process.exitCode = 1; },
);
