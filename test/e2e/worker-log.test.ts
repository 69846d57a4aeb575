// The worker's log through the CLI (issue 11 item 12): `stackflow worker` writes JSON lines when its
// stdout is a pipe, readable lines in a terminal, and keeps the SDK's notes for SDK developers ("No
// activities registered…") at debug; the background worker's worker.log (after `up -d`) and the
// in-process worker's (`down` with no worker running) hold JSON lines.
import { afterAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { FIXTURE_SERVICE, stackProcesses } from '../support/harness.js';
import { connectTestClient, testTemporalAddress } from '../support/temporal-server.js';
import { isLive, killAllWorkerProcesses, pollUntil, startWorkerProcess } from '../support/worker-process.js';

const CLI = resolve('bin/stackflow.js');
const READY = 'stackflow worker for host';
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  await killAllWorkerProcesses();
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

type Line = Record<string, unknown> & { level: number; msg: string };

/** Every non-empty line of `text` as JSON (throws, naming the line, if one is not). */
function jsonLines(text: string): Line[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Line;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}

/** Resolves once a worker with this pid polls `taskQueue` for workflow tasks (it runs past the SDK's start-up lines). */
async function pollingWorkflows(taskQueue: string, pid: number): Promise<void> {
  const { client, connection } = await connectTestClient();
  try {
    await pollUntil(`worker ${pid} to poll ${taskQueue}`, async () => {
      const { pollers } = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 });
      return (pollers ?? []).some((p) => p.identity?.startsWith(`${pid}@`));
    });
  } finally {
    await connection.close();
  }
}

describe('stackflow worker, stdout a pipe', () => {
  test('JSON lines; the ready line carries host, task queue and advertised address; no SDK lifecycle line at info', async () => {
    const taskQueue = `e2e-log-${randomUUID()}`;
    const worker = await startWorkerProcess({ address: testTemporalAddress(), taskQueue, env: { STACKFLOW_LOG_LEVEL: '' } });
    await pollingWorkflows(taskQueue, worker.pid);
    await worker.stop();
    const lines = jsonLines(worker.output());
    expect(lines.find((l) => l.msg.includes(READY))).toMatchObject({ level: 30, host: 'local', taskQueue, advertise: expect.any(String), pid: worker.pid });
    expect(lines.filter((l) => l.sdkComponent === 'worker' || l.sdkComponent === 'core')).toEqual([]);
    expect(worker.output()).not.toContain('No activities registered');
  });

  test('with STACKFLOW_LOG_LEVEL=debug the SDK lifecycle lines are there, at debug', async () => {
    const taskQueue = `e2e-log-${randomUUID()}`;
    const worker = await startWorkerProcess({ address: testTemporalAddress(), taskQueue, env: { STACKFLOW_LOG_LEVEL: 'debug' } });
    await pollUntil('the SDK to log its workflow-only worker', () => worker.output().includes('No activities registered'));
    await worker.stop();
    const lines = jsonLines(worker.output());
    expect(lines.find((l) => l.msg === 'No activities registered, not polling for activity tasks')).toMatchObject({ level: 20, sdkComponent: 'worker', taskQueue });
    expect(lines.filter((l) => l.msg === 'Worker state changed').map((l) => l.level)).toContain(20);
    expect(lines.filter((l) => l.sdkComponent === 'worker' && l.level >= 30)).toEqual([]);
  });

  test('a bad STACKFLOW_LOG_LEVEL is a usage error naming the variable, exit 2', async () => {
    const run = await execa(process.execPath, [CLI, 'worker'], {
      reject: false,
      env: { TEMPORAL_ADDRESS: testTemporalAddress(), STACKFLOW_LOG_LEVEL: 'loud', NO_COLOR: '1' },
    });
    expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({
      exitCode: 2,
      stderr: 'STACKFLOW_LOG_LEVEL: expected one of trace, debug, info, warn, error, got "loud"',
    });
  });
});

describe('a bad STACKFLOW_LOG_LEVEL for `up -d`', () => {
  test('exit 2 before anything starts: no worker, no worker.log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stackflow-worker-log-'));
    const file = join(dir, 'stack.yaml');
    await writeFile(file, ['name: bad-level', 'services:', '  web:', `    command: [node, ${FIXTURE_SERVICE}]`, ''].join('\n'));
    const home = join(dir, 'home');
    const up = await execa(process.execPath, [CLI, 'up', '-d', '-c', file], {
      reject: false,
      env: { TEMPORAL_ADDRESS: testTemporalAddress(), STACKFLOW_HOME: home, STACKFLOW_LOG_LEVEL: 'loud', NO_COLOR: '1' },
    });
    expect({ exitCode: up.exitCode, stderr: up.stderr }).toEqual({
      exitCode: 2,
      stderr: 'STACKFLOW_LOG_LEVEL: expected one of trace, debug, info, warn, error, got "loud"',
    });
    expect(existsSync(join(home, 'worker.log'))).toBe(false);
    expect(existsSync(join(home, 'worker.pid'))).toBe(false);
    expect(await stackProcesses('bad-level')).toEqual([]);
  });
});

describe('stackflow worker in a terminal', () => {
  test('readable lines (pino-pretty): time, level, message; no JSON', async () => {
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_'))),
      TEMPORAL_ADDRESS: testTemporalAddress(),
      TEMPORAL_CONFIG_FILE: resolve('test/fixtures/no-such-temporal.toml'),
      STACKFLOW_TASK_QUEUE: `e2e-log-${randomUUID()}`,
      NODE_OPTIONS: '',
      NO_COLOR: '1',
    };
    // util-linux `script` runs the worker on a pseudo-terminal and copies what it prints to our pipe.
    const child = spawn('script', ['-qec', `${process.execPath} ${CLI} worker`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise((done) => child.once('exit', done));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    await pollUntil('the worker to be ready', () => output.includes(READY), { timeoutMs: 30_000 });
    child.kill('SIGTERM');
    await exited;
    const lines = output.split(/\r?\n/).filter((line) => line.trim() !== '');
    expect(lines.find((line) => line.includes(READY))).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: stackflow worker for host "local" .*\{"host":"local",/);
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
  });
});

describe('worker.log', () => {
  test('the background worker (`up -d`) and the in-process worker (`down` with none running) append JSON lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stackflow-worker-log-'));
    const name = `l${randomUUID().slice(0, 8)}`;
    const file = join(dir, 'stack.yaml');
    await writeFile(file, ['name: ' + name, 'services:', '  web:', `    command: [node, ${FIXTURE_SERVICE}]`, `    port: ${await findFreePort()}`, ''].join('\n'));
    const home = join(dir, 'home');
    const env = { TEMPORAL_ADDRESS: testTemporalAddress(), STACKFLOW_TASK_QUEUE: `e2e-${randomUUID()}`, STACKFLOW_HOME: home, NO_COLOR: '1' };
    const stackflow = (args: string[]) => execa(process.execPath, [CLI, ...args, '-c', file], { reject: false, env });
    cleanups.push(() => stackflow(['down']));

    const up = await stackflow(['up', '-d']);
    expect({ exitCode: up.exitCode, stderr: up.stderr }).toEqual({ exitCode: 0, stderr: '' });
    const background = jsonLines(await readFile(join(home, 'worker.log'), 'utf8'));
    const ready = background.find((l) => l.msg.includes(READY));
    expect(ready).toMatchObject({ level: 30, host: 'local', taskQueue: env.STACKFLOW_TASK_QUEUE });

    // SIGTERM: the background worker shuts down gracefully and the service keeps running.
    const workerPid = Number((await readFile(join(home, 'worker.pid'), 'utf8')).trim());
    process.kill(workerPid, 'SIGTERM');
    await pollUntil('the background worker to exit', () => !isLive(workerPid));

    const down = await stackflow(['down']);
    expect(down.exitCode).toBe(0);
    expect(down.stdout).not.toContain('in-process worker');
    expect(await stackProcesses(name)).toEqual([]);
    const all = jsonLines(await readFile(join(home, 'worker.log'), 'utf8'));
    expect(all.slice(0, background.length)).toEqual(background);
    expect(all.slice(background.length).find((l) => l.msg.includes('in-process worker for host "local"'))).toMatchObject({ level: 30, pid: expect.any(Number) });
    expect(all.filter((l) => l.msg.includes('No activities registered'))).toEqual([]);
  });
});
