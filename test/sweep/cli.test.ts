import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cli, CONFIG } from '../e2e/support/harness';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-sweep-cli-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

test('--dry-run --executor slurm writes the plan and the sbatch script, submits nothing', async () => {
  const sweepDir = path.join(tmp, 'dry');
  const r = await cli('sweep', CONFIG, '--grid', 'train.batch_size=8,16', '--seeds', '2', '--output', path.join(tmp, 'out'), '--sweep-dir', sweepDir,
    '--executor', 'slurm', '--cpus-per-task', '2', '--gres', 'gpu:1', '--time', '1:00:00', '--partition', 'gpu', '--sbatch=--qos=low', '--dry-run');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/2 run directories, 4 task\(s\), 2 intra-op thread\(s\) each/);
  expect(r.stdout).toMatch(/dry run: nothing submitted \(tasks 0, 1, 2, 3\); script .*submit-1\.sbatch/);
  const script = fs.readFileSync(path.join(sweepDir, 'slurm', 'submit-1.sbatch'), 'utf8');
  for (const line of ['--array=0-3', '--cpus-per-task=2', '--gres=gpu:1', '--time=1:00:00', '--partition=gpu', '--qos=low', '--requeue', '--signal=B:USR1@180']) {
    expect(script).toContain(`#SBATCH ${line}\n`);
  }
  expect(fs.existsSync(path.join(sweepDir, 'slurm', 'submissions.json'))).toBe(false);
  const status = JSON.parse((await cli('sweep', 'status', sweepDir, '--json')).stdout);
  expect(status.tasks.map((t: { state: string }) => t.state)).toEqual(['pending', 'pending', 'pending', 'pending']);
  expect(status.tasks.map((t: { title: string }) => t.title.replace(/-[0-9a-f]{12}/, ''))).toEqual([
    'tiny-simclr-batch_size8/seed3', 'tiny-simclr-batch_size8/seed4', 'tiny-simclr-batch_size16/seed3', 'tiny-simclr-batch_size16/seed4',
  ]);
});

test.each([
  [['sweep', 'status', '/nonexistent-sweep'], /no sweep plan here/],
  [['sweep', CONFIG, '--grid', 'seed=1,2', '--dry-run'], /seeds are not a grid axis; use --seeds N/],
  [['sweep', CONFIG, '--grid', 'train.optimizer.name=sgd,sgdd', '--dry-run', '--output', '/tmp/x'], /train\.optimizer\.name: "sgdd" is not one of/],
])('user errors are one line, exit 2: %j', async (args, message) => {
  const r = await cli(...args);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
});
