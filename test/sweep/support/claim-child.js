/**
 * One contender in claim.test.ts's race: `node claim-child.js <run dir> <barrier dir>`. Says it is
 * ready, waits for the go file, claims the run directory, prints "claimed" / "claimed (took over)"
 * / "busy", and holds on until the done file appears, so every contender meets a held claim.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

require('../../support/register-ts.js');
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
