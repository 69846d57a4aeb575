// The states users get into (issue 11), through the CLI as they run it: a killed worker, a second
// Ctrl-C, a removed state directory, no Temporal server, two terminals, a closed pipe, a broken
// STACKFLOW_HOME, a concurrent `down`. Each runs fixture services on free ports.
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import YAML from 'yaml';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { isProcessAlive } from '../../src/process/terminate.js';
import { lostEmbeddedServer } from '../../src/temporal/index.js';
import { FIXTURE_SERVICE, stackProcesses } from '../support/harness.js';
import { connectTestClient, testTemporalAddress } from '../support/temporal-server.js';
import { output } from '../support/cli-stack.js';

const CLI = resolve('bin/stackflow.js');
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

interface Fixture {
  file: string;
  name: string;
  home: string;
  env: Record<string, string>;
  timeline: string;
}

/** A stack file of fixture services on free ports, its own STACKFLOW_HOME and task queue. */
async function fixture(services: Record<string, { env?: Record<string, string>; dependsOn?: string[]; shutdown?: string }>): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'stackflow-recovery-'));
  const name = `r${randomUUID().slice(0, 8)}`;
  const timeline = join(dir, 'timeline.jsonl');
  const doc: Record<string, unknown> = { name, services: {} };
  for (const [service, options] of Object.entries(services)) {
    const port = await findFreePort();
    (doc.services as Record<string, unknown>)[service] = {
      command: ['node', FIXTURE_SERVICE],
      port,
      env: { TIMELINE_FILE: timeline, ...options.env },
      health: { http: { url: `http://127.0.0.1:${port}/health` }, interval: '200ms' },
      depends_on: options.dependsOn ?? [],
      shutdown: { timeout: options.shutdown ?? '3s' },
    };
  }
  const file = join(dir, 'stack.yaml');
  await writeFile(file, YAML.stringify(doc));
  const home = join(dir, 'home');
  const env = {
    TEMPORAL_ADDRESS: testTemporalAddress(),
    STACKFLOW_TASK_QUEUE: `e2e-${randomUUID()}`,
    STACKFLOW_HOME: home,
    NO_COLOR: '1',
  };
  const made = { file, name, home, env, timeline };
  cleanups.push(async () => {
    await stackflow(made, ['down', '--timeout', '2s']);
    for (const pid of await stackProcesses(name)) process.kill(pid, 'SIGKILL');
  });
  return made;
}

function stackflow(f: Fixture, args: string[], extraEnv: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args, '-c', f.file], { reject: false, env: { ...f.env, ...extraEnv } });
}

/** The pid in worker.pid (a bare decimal pid, or the older JSON record). */
async function workerPid(home: string): Promise<number> {
  const text = (await readFile(join(home, 'worker.pid'), 'utf8')).trim();
  return text.startsWith('{') ? (JSON.parse(text) as { pid: number }).pid : Number(text.split('\n')[0]);
}

async function servicePids(f: Fixture): Promise<Record<string, number>> {
  const result = await stackflow(f, ['status', '--json']);
  expect(result.exitCode).toBe(0);
  const status = JSON.parse(result.stdout) as { services: Record<string, { pid: number }> };
  return Object.fromEntries(Object.entries(status.services).map(([name, s]) => [name, s.pid]));
}

type Status = { services: Record<string, { pid: number; state: string }> };

/** Resolves with the first status (`status --watch --json`) that satisfies `done`; rejects if the watch ends first. */
async function statusUntil(f: Fixture, done: (status: Status) => boolean): Promise<Status> {
  const watch = execa(process.execPath, [CLI, 'status', '--watch', '--json', '--interval', '250ms', '-c', f.file], { reject: false, env: f.env });
  try {
    let buffered = '';
    for await (const chunk of watch.stdout!) {
      buffered += String(chunk);
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const status = JSON.parse(line) as Status;
        if (done(status)) return status;
      }
    }
    throw new Error(`status --watch ended: ${(await watch).stderr}`);
  } finally {
    watch.kill();
  }
}

const NO_TRACE = /\n\s+at /;

let connected: ReturnType<typeof connectTestClient> | undefined;
/** One SDK client on the jest run's server for the whole file, closed after it. */
function testClient(): ReturnType<typeof connectTestClient> {
  if (!connected) {
    connected = connectTestClient();
    cleanups.push(async () => (await connected!).connection.close());
  }
  return connected;
}

/** The ids of the workflows of `stack` (its stack workflow, its service workflows by exact id) that are running. */
async function runningWorkflows(stack: string, services: string[]): Promise<string[]> {
  const { client } = await testClient();
  const ids = [`stack-${stack}`, ...services.map((s) => `stack-${stack}.${s}`)];
  const running = await Promise.all(
    ids.map((id) =>
      client.workflow
        .getHandle(id)
        .describe()
        .then((d) => d.status.name === 'RUNNING', () => false),
    ),
  );
  return ids.filter((_, i) => running[i]);
}

/** Pids of the live processes whose environment holds `entry` (`NAME=value`). */
async function processesWithEnv(entry: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(entry) && isProcessAlive(Number(pid))) pids.push(Number(pid));
  }
  return pids;
}

describe('a killed background worker (item 1)', () => {
  test('status and restart say no worker runs, at once; up -d starts one that adopts the services', async () => {
    const f = await fixture({ a: {}, b: { dependsOn: ['a'] } });
    expect((await stackflow(f, ['up', '-d'])).exitCode).toBe(0);
    const before = await servicePids(f);
    process.kill(await workerPid(f.home), 'SIGKILL');

    for (const args of [['status'], ['restart', 'a']]) {
      const result = await stackflow(f, args);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`stack ${f.name}: no worker is running`);
      expect(result.stderr).toContain('service workflows: a, b');
      expect(result.stderr).toContain('stackflow up -d');
      expect(result.stderr).not.toMatch(NO_TRACE);
    }

    const up = await stackflow(f, ['up', '-d']);
    expect(up.stderr).toBe('');
    expect(up.exitCode).toBe(0);
    expect(up.stdout).toContain('worker started in the background');
    expect(await servicePids(f)).toEqual(before);

    expect((await stackflow(f, ['down'])).exitCode).toBe(0);
    expect(await stackProcesses(f.name)).toEqual([]);
  });
});

describe('a second Ctrl-C during the drain (item 2)', () => {
  test('forces the stop: every process of the stack is killed, exit 130', async () => {
    const f = await fixture({ a: {}, slow: { dependsOn: ['a'], env: { IGNORE_SIGTERM: '1' }, shutdown: '60s' } });
    const up = execa(process.execPath, [CLI, 'up', '-c', f.file], { reject: false, env: f.env });
    await output(up, /is up in/);
    up.kill('SIGINT');
    await output(up, /press Ctrl-C again to force/);
    up.kill('SIGINT');
    const result = await up;
    expect(result.exitCode).toBe(130);
    expect(result.stdout).toContain('forced stop');
    expect(await stackProcesses(f.name)).toEqual([]);
    // The service workflows went with the stack workflow: a next `up -d` starts them again.
    expect(await runningWorkflows(f.name, ['a', 'slow'])).toEqual([]);
    const again = await stackflow(f, ['up', '-d']);
    expect(again.stderr).toBe('');
    expect(again.exitCode).toBe(0);

    // A stack workflow terminated alone (from the Web UI, say) leaves its service workflows: `down` ends them too.
    const { client } = await testClient();
    await client.workflow.getHandle(`stack-${f.name}`).terminate('by hand');
    const down = await stackflow(f, ['down']);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain(`terminated the service workflows of stack ${f.name}`);
    expect(await runningWorkflows(f.name, ['a', 'slow'])).toEqual([]);
    expect(await stackProcesses(f.name)).toEqual([]);
  });
});

describe('two stacks in one home (item 2)', () => {
  test('down of one stack, or of a mistyped file, keeps the worker the other stack needs', async () => {
    const demo = await fixture({ a: {}, b: { dependsOn: ['a'] } });
    const other = await fixture({ c: {} });
    // The second stack in the first one's home, on its task queue.
    const home = { STACKFLOW_HOME: demo.home, STACKFLOW_TASK_QUEUE: demo.env.STACKFLOW_TASK_QUEUE! };
    expect((await stackflow(demo, ['up', '-d'])).exitCode).toBe(0);
    const worker = await workerPid(demo.home);
    const second = await stackflow(other, ['up', '-d'], home);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain(`using the background worker (pid ${worker})`);

    const down = await stackflow(other, ['down'], home);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).toContain(`background worker kept: it serves stack ${demo.name}`);
    expect(await stackProcesses(other.name)).toEqual([]);

    // A mistyped file: the stack is named after the directory (compose-style), and is not running.
    const typo = { ...demo, file: join(demo.file, '..', 'stak.yaml') };
    const typoDown = await stackflow(typo, ['down']);
    expect(typoDown.exitCode).toBe(0);
    expect(typoDown.stdout).toContain(`background worker kept: it serves stack ${demo.name}`);
    const typoStatus = await stackflow(typo, ['status']);
    expect(typoStatus.stderr).not.toContain('still run without a workflow');
    expect(typoStatus.exitCode).toBe(0);
    expect(isProcessAlive(worker)).toBe(true);

    // demo is still supervised: a killed service is restarted.
    const before = await servicePids(demo);
    process.kill(before.a!, 'SIGKILL');
    await statusUntil(demo, (s) => s.services.a?.pid !== before.a && s.services.a?.state === 'healthy');

    const last = await stackflow(demo, ['down']);
    expect(last.stdout).toContain('background worker stopped');
    expect(isProcessAlive(worker)).toBe(false);
    expect(await stackProcesses(demo.name)).toEqual([]);
  });
});

describe('two homes sharing one task queue (issue 11, items 5 and 7)', () => {
  test("down stops its own home's worker though a stack of another home runs on the queue; status exits 0", async () => {
    const demo = await fixture({ a: {} });
    const other = await fixture({ c: {} });
    // other keeps its own STACKFLOW_HOME, on demo's task queue.
    const queue = { STACKFLOW_TASK_QUEUE: demo.env.STACKFLOW_TASK_QUEUE! };
    expect((await stackflow(demo, ['up', '-d'])).exitCode).toBe(0);
    const demoWorker = await workerPid(demo.home);
    expect((await stackflow(other, ['up', '-d'], queue)).exitCode).toBe(0);
    const otherWorker = await workerPid(other.home);
    expect(otherWorker).not.toBe(demoWorker);

    const down = await stackflow(other, ['down'], queue);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).not.toContain('background worker kept');
    expect(down.stdout).toContain('background worker stopped');
    expect(isProcessAlive(otherWorker)).toBe(false);
    expect(isProcessAlive(demoWorker)).toBe(true);
    expect(await stackProcesses(other.name)).toEqual([]);

    const status = await stackflow(other, ['status'], queue);
    expect(status.stderr).not.toContain('still run without a workflow');
    expect(status.exitCode).toBe(0);
    expect((await stackflow(demo, ['status'])).exitCode).toBe(0);
  });
});

describe('the state directory removed while the stack runs (item 3)', () => {
  test('down stops the services and the worker the removed home left behind, within its timeout', async () => {
    const f = await fixture({ a: {} });
    expect((await stackflow(f, ['up', '-d'])).exitCode).toBe(0);
    const worker = await workerPid(f.home);
    await rm(f.home, { recursive: true, force: true });

    const down = await stackflow(f, ['down', '--timeout', '3s']);
    expect(down.stderr).not.toMatch(NO_TRACE);
    expect(down.stderr).not.toContain('WARN');
    expect(await stackProcesses(f.name)).toEqual([]);
    expect(isProcessAlive(worker)).toBe(false);
  });

  test('with the embedded server: status and up name the lost database; down --all stops the leftovers and the server', async () => {
    const f = await fixture({ a: {}, b: { dependsOn: ['a'] } });
    cleanups.push(async () => {
      const server = await lostEmbeddedServer(f.home);
      if (server !== null) process.kill(server, 'SIGKILL');
    });
    // One network namespace for the whole sequence: the embedded server on 127.0.0.1:7233 there is
    // this test's own, whatever runs on this machine.
    const steps = [
      ['up', '-d'],
      ['rm'],
      ['status'],
      ['up', '-d'],
      ['down', '--all', '--timeout', '3s'],
      ['status'],
    ];
    const script = `const { spawnSync } = require('child_process'); const { rmSync } = require('fs');
      const out = [];
      for (const args of ${JSON.stringify(steps)}) {
        if (args[0] === 'rm') { rmSync(${JSON.stringify(f.home)}, { recursive: true, force: true }); continue; }
        const r = spawnSync(process.execPath, [${JSON.stringify(CLI)}, ...args, '-c', ${JSON.stringify(f.file)}], { encoding: 'utf8' });
        out.push({ args, status: r.status, stdout: r.stdout, stderr: r.stderr });
      }
      process.stdout.write(JSON.stringify(out));`;
    const run = await execa('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, '-e', script], {
      reject: false,
      env: { STACKFLOW_HOME: f.home, NO_COLOR: '1', PATH: process.env.PATH!, HOME: process.env.HOME!, ...(process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}) },
      extendEnv: false,
    });
    const [up, status, upAgain, down, after] = JSON.parse(run.stdout) as { args: string[]; status: number; stdout: string; stderr: string }[];
    expect(up!.status).toBe(0);
    for (const step of [status!, upAgain!]) {
      expect(step.stderr).toContain('lost its database');
      expect(step.stderr).toContain('stackflow down --all');
      expect(step.stderr).not.toMatch(NO_TRACE);
      expect(step.status).toBe(1);
    }
    expect(down!.stderr).not.toMatch(NO_TRACE);
    expect(down!.status).toBe(0);
    expect(await stackProcesses(f.name)).toEqual([]);
    expect(await lostEmbeddedServer(f.home)).toBeNull();
    expect(`${after!.stdout}${after!.stderr}`).toContain(`stack ${f.name}: not running`);
  });
});

describe('no Temporal server (item 4)', () => {
  // A network namespace of its own: nothing answers on 127.0.0.1:7233 there, whatever runs on this machine.
  const isolated = (f: Fixture, args: string[], env: Record<string, string> = {}) =>
    execa('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, CLI, ...args, '-c', f.file], {
      reject: false,
      env: { STACKFLOW_HOME: f.home, NO_COLOR: '1', PATH: process.env.PATH!, ...env },
      extendEnv: false,
    });

  test('read-only commands report "not running" quickly and start no server', async () => {
    const f = await fixture({ a: {} });
    const notRunning = `stack ${f.name}: not running (no Temporal server at 127.0.0.1:7233)`;
    for (const [args, code] of [
      [['status'], 0],
      [['ps', '--json'], 0],
      [['restart', 'a'], 1],
      [['reload'], 1],
      [['down', '--all'], 0],
    ] as const) {
      const result = await isolated(f, [...args]);
      expect(`${result.stdout}\n${result.stderr}`).toContain(args[0] === 'down' ? '' : notRunning);
      expect(result.stderr).not.toMatch(NO_TRACE);
      expect(result.exitCode).toBe(code);
    }
    const json = await isolated(f, ['status', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ stack: f.name, state: 'stopped', services: {} });
    expect(existsSync(join(f.home, 'temporal.pid'))).toBe(false);
    expect(existsSync(join(f.home, 'temporal.db'))).toBe(false);
  });

  test('a bad or taken STACKFLOW_UI_PORT is a sentence naming the variable (item 12)', async () => {
    const f = await fixture({ a: {} });
    const bad = await isolated(f, ['up', '-d'], { STACKFLOW_UI_PORT: 'eighty' });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('STACKFLOW_UI_PORT: expected a port number');

    // 8233 taken inside the namespace (and 8235): listeners started there first, then `up`.
    const script = `const net = require('net'); net.createServer().listen(8235, '127.0.0.1', () => net.createServer().listen(8233, '127.0.0.1', () => {
      const r = require('child_process').spawnSync(process.execPath, [${JSON.stringify(CLI)}, 'up', '-d', '-c', ${JSON.stringify(f.file)}], { encoding: 'utf8' });
      process.stdout.write(JSON.stringify(r)); process.exit(0); }))`;
    const inNs = await execa('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, '-e', script], {
      reject: false,
      env: { STACKFLOW_HOME: f.home, NO_COLOR: '1', PATH: process.env.PATH! },
      extendEnv: false,
    });
    const child = JSON.parse(inNs.stdout) as { status: number; stderr: string };
    expect(child.stderr).toContain('port 8233');
    expect(child.stderr).toContain('set STACKFLOW_UI_PORT');
    // The port suggested is free: not the codec endpoint's 8234, not the taken 8235.
    expect(child.stderr).toContain('e.g. STACKFLOW_UI_PORT=8236');
    expect(child.status).toBe(2);
  });
});

describe('two terminals (item 5)', () => {
  test('a foreground up exits when another terminal drains the stack; it leaves no worker', async () => {
    const f = await fixture({ a: {} });
    const up = execa(process.execPath, [CLI, 'up', '-c', f.file], { reject: false, env: f.env });
    await output(up, /is up in/);
    expect((await stackflow(f, ['down'])).exitCode).toBe(0);
    const result = await up;
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`stack ${f.name} was stopped elsewhere`);
    expect(existsSync(join(f.home, 'worker.pid'))).toBe(false);
    expect(await stackProcesses(f.name)).toEqual([]);
  });

  test('Ctrl-C on an up that attached to a detached stack drains it and leaves the background worker it did not start', async () => {
    const f = await fixture({ a: {} });
    expect((await stackflow(f, ['up', '-d'])).exitCode).toBe(0);
    const worker = await workerPid(f.home);
    const up = execa(process.execPath, [CLI, 'up', '-c', f.file], { reject: false, env: f.env });
    await output(up, /is already running: 1 healthy/);
    up.kill('SIGINT');
    const result = await up;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).not.toMatch(NO_TRACE);
    expect(await stackProcesses(f.name)).toEqual([]);
    expect(isProcessAlive(worker)).toBe(true);
    expect(await workerPid(f.home)).toBe(worker);
    // The home's idle worker is no leftover: status says so in one line, exit 0.
    const after = await stackflow(f, ['status']);
    expect(after.stderr).not.toContain('still run without a workflow');
    expect(after.stdout).toContain(`background worker pid ${worker} is idle; \`stackflow down\` stops it`);
    expect(after.exitCode).toBe(0);
  });
});

describe('a closed stdout (item 6)', () => {
  test('`logs | head -1` ends quietly with exit 0', async () => {
    const f = await fixture({ a: {} });
    await mkdir(join(f.home, f.name, 'logs'), { recursive: true });
    await writeFile(join(f.home, f.name, 'logs', 'a.log'), 'a line of log\n'.repeat(200_000));
    const result = await execa('bash', ['-c', `"${process.execPath}" "${CLI}" logs -c "${f.file}" | head -1; exit "\${PIPESTATUS[0]}"`], {
      reject: false,
      env: f.env,
    });
    expect(result.stdout).toBe('a | a line of log');
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  test('`status --watch --json | head -1` ends at the next refresh instead of running on', async () => {
    const f = await fixture({ a: {} });
    const result = await execa(
      'bash',
      ['-c', `"${process.execPath}" "${CLI}" status --watch --json --interval 250ms -c "${f.file}" | head -1; exit "\${PIPESTATUS[0]}"`],
      { reject: false, env: f.env },
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ stack: f.name, state: 'stopped' });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

describe('environment errors are sentences (item 7)', () => {
  test('a STACKFLOW_HOME that is a file: one sentence, exit 1; the stack only with --debug', async () => {
    const f = await fixture({ a: {} });
    const file = join(f.home, '..', 'not-a-dir');
    await writeFile(file, '');
    const home = join(file, 'home');
    const plain = await stackflow(f, ['up', '-d'], { STACKFLOW_HOME: home });
    expect(plain.exitCode).toBe(1);
    expect(plain.stderr).toContain('a part of the path is not a directory');
    expect(plain.stderr).toContain('point it at a directory.');
    expect(plain.stderr).not.toContain('free some space');
    expect(plain.stderr).toContain('STACKFLOW_HOME');
    expect(plain.stderr).not.toMatch(NO_TRACE);
    const debug = await stackflow(f, ['up', '-d', '--debug'], { STACKFLOW_HOME: home });
    expect(debug.stderr).toMatch(NO_TRACE);
  });

  test('a STACKFLOW_HOME under procfs (where a recursive mkdir loops): one sentence, exit 1, and it returns', async () => {
    const f = await fixture({ a: {} });
    // A regression hangs at 100% CPU: the timeout makes it fail instead of hanging the suite.
    const result = await execa(process.execPath, [CLI, 'up', '-d', '-c', f.file], { reject: false, env: { ...f.env, STACKFLOW_HOME: '/proc/nope/x' }, timeout: 20_000 });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('cannot create STACKFLOW_HOME /proc/nope/x');
    expect(result.stderr).toContain('Point STACKFLOW_HOME at a writable directory');
    expect(result.stderr).not.toMatch(NO_TRACE);
  });

  test('a full disk under STACKFLOW_HOME, at the lock or at worker.pid: one sentence, exit 1, no worker left', async () => {
    const f = await fixture({ a: {} });
    // A 64 KiB tmpfs (16 pages) in a mount namespace of its own: full, or with the one page the lock takes.
    for (const filled of [16, 15]) {
      await rm(f.home, { recursive: true, force: true });
      await mkdir(f.home, { recursive: true });
      const script = `mount -t tmpfs -o size=64k tmpfs "$0" && dd if=/dev/zero of="$0/fill" bs=4k count=${filled} 2>/dev/null; exec "$@"`;
      const result = await execa('unshare', ['--mount', 'sh', '-c', script, f.home, process.execPath, CLI, 'up', '-d', '-c', f.file], {
        reject: false,
        env: f.env,
      });
      expect(result.stderr).toContain('no space left on the device (ENOSPC)');
      expect(result.stderr).toContain('free some space');
      expect(result.stderr).toContain('STACKFLOW_HOME');
      expect(result.stderr).not.toMatch(NO_TRACE);
      expect(result.exitCode).toBe(1);
      expect(await processesWithEnv(`STACKFLOW_HOME=${f.home}`)).toEqual([]);
    }
  });
});

describe('up -d and a concurrent down (item 8)', () => {
  test('up -d reports the stop and exits 1', async () => {
    const f = await fixture({ a: { env: { READY_DELAY_MS: '60000' } } });
    const up = stackflow(f, ['up', '-d']);
    await output(up, /starting stack/);
    expect((await stackflow(f, ['down'])).exitCode).toBe(0);
    const result = await up;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`stack ${f.name} was stopped while starting`);
  });
});

describe('CLI conventions (item 12)', () => {
  test('--help exits 0, --version prints the version, ps is status', async () => {
    const f = await fixture({ a: {} });
    const help = await execa(process.execPath, [CLI, '--help'], { reject: false });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('stop [options] <service...>');
    const version = await execa(process.execPath, [CLI, '--version'], { reject: false });
    expect(version.stdout).toBe(JSON.parse(await readFile('package.json', 'utf8')).version);
    const ps = await stackflow(f, ['ps']);
    expect(ps.exitCode).toBe(0);
    expect(ps.stdout).toContain(`stack ${f.name}: stopped`);
  });

  test('start brings back a service of the running stack through the workflow', async () => {
    const f = await fixture({ a: {}, b: {} });
    expect((await stackflow(f, ['up', '-d', 'a'])).exitCode).toBe(0);
    const start = await stackflow(f, ['start', 'b']);
    expect(start.stderr).toBe('');
    expect(start.exitCode).toBe(0);
    expect(Object.keys(await servicePids(f)).sort()).toEqual(['a', 'b']);
    expect((await stackflow(f, ['down'])).exitCode).toBe(0);
  });
});
