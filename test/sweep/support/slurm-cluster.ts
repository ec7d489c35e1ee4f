/**
 * A one-node Slurm cluster on 127.0.0.1 for the tests, from Debian's slurm-wlm and munge
 * (`apt-get install -y slurm-wlm munge`), run as root: a munge key, slurm.conf, state and spool
 * folders in a temp dir; munged, slurmctld and slurmd in the foreground as child processes of the
 * test, stopped by their pids. No cgroups (proctrack/linuxproc, task/none), no accounting.
 *
 * Two settings make requeues test-sized: `cred_expire=5` (a requeued job waits that long before it
 * may start again; Slurm's default 120 s) and `sched_interval=1` (the main scheduling loop runs
 * every second instead of every 60 s, so a requeued task starts once that wait is over).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface SlurmCluster {
  dir: string;
  conf: string;
  /** Environment for Slurm commands: SLURM_CONF pointing at this cluster. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

const BINARIES = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'];

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']).some((d) => fs.existsSync(path.join(d, name)));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Why the cluster cannot start here, or null when it might. */
export function slurmUnavailable(): string | null {
  if (process.platform !== 'linux') return 'Slurm tests need Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'the test cluster runs its daemons as root; not root';
  const missing = BINARIES.filter((b) => !onPath(b));
  if (missing.length > 0) return `Slurm/munge not installed (missing ${missing.join(', ')}; apt-get install -y slurm-wlm munge)`;
  return null;
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, ms);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
  });
}

/** Starts the cluster and waits until its node is idle; throws with the daemons' logs if it does not come up. */
export async function startSlurmCluster(timeoutMs = 20_000): Promise<SlurmCluster> {
  const sbin = ['/usr/sbin', '/sbin'];
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [...(process.env.PATH ?? '').split(':'), ...sbin].join(':') };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-bench-slurm-'));
  const munge = path.join(dir, 'munge');
  fs.mkdirSync(munge, { mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'state'));
  fs.mkdirSync(path.join(dir, 'spool'));
  const key = path.join(munge, 'munge.key');
  fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o400 });
  const socket = path.join(munge, 'munge.socket');
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const cpus = os.availableParallelism();
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(conf, [
    'ClusterName=sslbenchtest',
    'SlurmctldHost=localhost(127.0.0.1)',
    `SlurmctldPort=${ctldPort}`,
    `SlurmdPort=${slurmdPort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    `AuthInfo=socket=${socket},cred_expire=5`,
    'CredType=cred/munge',
    `StateSaveLocation=${path.join(dir, 'state')}`,
    `SlurmdSpoolDir=${path.join(dir, 'spool')}`,
    `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${path.join(dir, 'slurmd.pid')}`,
    `SlurmctldLogFile=${path.join(dir, 'slurmctld.log')}`,
    `SlurmdLogFile=${path.join(dir, 'slurmd.log')}`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/none',
    'MpiDefault=none',
    'SchedulerType=sched/builtin',
    'SchedulerParameters=sched_interval=1',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core',
    'ReturnToService=2',
    'KillWait=10',
    'MinJobAge=600',
    `NodeName=sslbenchnode NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=${cpus} RealMemory=1000 State=UNKNOWN`,
    'PartitionName=test Nodes=sslbenchnode Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n'));
  env.SLURM_CONF = conf;

  const children: ChildProcess[] = [];
  const start = (cmd: string, args: string[], log: string): ChildProcess => {
    const out = fs.openSync(path.join(dir, log), 'a');
    const child = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child.on('error', () => {});
    children.push(child);
    return child;
  };
  const stop = async (): Promise<void> => {
    spawnSync('scancel', ['--me'], { env });
    for (const child of [...children].reverse()) {
      child.kill('SIGTERM');
      await waitExit(child, 5000);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  start('munged', ['-F', '-f', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${path.join(munge, 'munged.pid')}`, `--log-file=${path.join(munge, 'munged.log')}`, `--seed-file=${path.join(munge, 'seed')}`], 'munged.out');
  const began = Date.now();
  while (!fs.existsSync(socket) && Date.now() - began < 5000) await new Promise((r) => setTimeout(r, 50));
  start('slurmctld', ['-D', '-i', '-f', conf], 'slurmctld.out');
  start('slurmd', ['-D', '-N', 'sslbenchnode', '-f', conf], 'slurmd.out');
  while (Date.now() - began < timeoutMs) {
    const r = spawnSync('sinfo', ['--noheader', '--format=%t'], { env, encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === 'idle') return { dir, conf, env, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  const logs = ['munged.out', 'slurmctld.out', 'slurmd.out'].map((f) => {
    const file = path.join(dir, f);
    return `${f}: ${fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ') : '(none)'}`;
  }).join('\n');
  await stop();
  throw new Error(`the test Slurm cluster did not come up within ${timeoutMs} ms:\n${logs}`);
}
