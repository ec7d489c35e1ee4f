/**
 * For child processes the tests spawn: lets require() load the TypeScript sources, compiled on
 * load by @swc/core (the compiler jest uses), so a child never depends on a stale dist/ build.
 *
 *   require('<path>/test/support/register-ts.js');
 */
'use strict';
const fs = require('node:fs');
const swc = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
