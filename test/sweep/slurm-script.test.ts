import { arraySpec, parseQueue, shellQuote, slurmScript, type SlurmOptions } from '../../src/sweep/slurm';

const OPTIONS: SlurmOptions = {
  cpusPerTask: 8, gres: 'gpu:1', mem: '32G', time: '12:00:00', partition: 'gpu', account: 'vision', signalBefore: 300,
  maxParallel: 4, extraLines: ['--qos=high', '--constraint=h100'], jobName: 'ssl-bench-sweep-abc',
};

test('array lists: consecutive ids become ranges', () => {
  expect(arraySpec([0, 1, 2, 3, 5, 7, 8])).toBe('0-3,5,7-8');
  expect(arraySpec([4])).toBe('4');
  expect(arraySpec([3, 1, 2, 2])).toBe('1-3');
});

test('shell quoting leaves plain words alone and quotes the rest', () => {
  expect(shellQuote('/usr/bin/node')).toBe('/usr/bin/node');
  expect(shellQuote('/data/my runs')).toBe("'/data/my runs'");
  expect(shellQuote("it's")).toBe("'it'\\''s'");
});

test('the sbatch script (golden)', () => {
  const script = slurmScript('/shared/sweeps/s1', [0, 1, 2, 5], OPTIONS, ['/opt/node/bin/node', '/home/u/ssl bench/bin/ssl-bench.js'], '/home/u/work');
  expect(script).toBe(`#!/bin/bash
#SBATCH --job-name=ssl-bench-sweep-abc
#SBATCH --array=0-2,5%4
#SBATCH --output=/shared/sweeps/s1/logs/task-%a.out
#SBATCH --error=/shared/sweeps/s1/logs/task-%a.err
#SBATCH --open-mode=append
#SBATCH --chdir=/home/u/work
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=8
#SBATCH --gres=gpu:1
#SBATCH --mem=32G
#SBATCH --time=12:00:00
#SBATCH --partition=gpu
#SBATCH --account=vision
#SBATCH --requeue
#SBATCH --signal=B:USR1@300
#SBATCH --qos=high
#SBATCH --constraint=h100

# ssl-bench sweep /shared/sweeps/s1: array index = task id in plan.json.
# SIGUSR1 (time limit near): pass it to the worker, which checkpoints and exits 75; then requeue.
# SIGTERM (preemption, scancel, scontrol requeue) reaches every process of the job, the worker
# included, which checkpoints on it; forwarding it again would stop the worker without one.
preempted=0
trap 'preempted=1; kill -USR1 "$child" 2>/dev/null' USR1
trap ':' TERM
/opt/node/bin/node '/home/u/ssl bench/bin/ssl-bench.js' sweep task /shared/sweeps/s1 "$SLURM_ARRAY_TASK_ID" &
child=$!
while :; do
  wait "$child"; rc=$?
  kill -0 "$child" 2>/dev/null && continue
  [ "$rc" -gt 128 ] && { wait "$child" 2>/dev/null; r=$?; [ "$r" != 127 ] && rc=$r; }
  break
done
if [ "$preempted" = 1 ] && [ "$rc" = 75 ]; then
  echo "ssl-bench sweep: task $SLURM_ARRAY_TASK_ID checkpointed before the time limit; requeueing job \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}" >&2
  scontrol requeue "\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
fi
exit "$rc"
`);
});

test('optional resources are left out when not given', () => {
  const script = slurmScript('/s', [0], { cpusPerTask: 1, gres: null, signalBefore: 180, extraLines: [], jobName: 'j' }, ['node', 'x.js'], '/w');
  expect(script).not.toMatch(/--gres|--mem|--time|--partition|--account/);
  expect(script).toMatch(/^#SBATCH --array=0$/m);
});

test('squeue lines: only our jobs, one entry per array task', () => {
  const text = ['12|0|RUNNING|None', '12|3|PENDING|BeginTime', '13|1|PENDING|Priority', '99|0|RUNNING|None', '12|N/A|PENDING|None', ''].join('\n');
  const queue = parseQueue(text, new Set(['12', '13']));
  expect([...queue.entries()]).toEqual([
    [0, { job: '12_0', state: 'RUNNING', reason: 'None' }],
    [3, { job: '12_3', state: 'PENDING', reason: 'BeginTime' }],
    [1, { job: '13_1', state: 'PENDING', reason: 'Priority' }],
  ]);
});
