/**
 * One contender in claim.test.ts's race: `node claim-child.js <run dir> <barrier dir>`. Says it is
 * ready, waits for the go file, claims the run directory, prints "claimed" / "claimed (took over)"
 * / "busy", and holds on until the done file appears, so every contender meets a held claim.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
const { claimRun } = require(path.resolve(__dirname, '..', '..', '..', 'src', 'sweep', 'claim.ts'));

const [dir, barrier] = process.argv.slice(2);
const wait = (file) => new Promise((resolve) => {
  const poll = () => (fs.existsSync(file) ? resolve() : setTimeout(poll, 2));
  poll();
});
fs.writeFileSync(path.join(barrier, `ready-${process.pid}`), '');
wait(path.join(barrier, 'go')).then(async () => {
  const r = claimRun(dir, { worker: `contender ${process.pid}` });
  process.stdout.write(`${'claim' in r ? (r.tookOver ? 'claimed (took over)' : 'claimed') : 'busy'}\n`);
  await wait(path.join(barrier, 'done'));
});
