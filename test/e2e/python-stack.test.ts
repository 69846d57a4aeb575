// The Python team's stack (examples/python-stack) as they run it: real uv, FastAPI and uvicorn from
// the committed uv.lock, brought up by the CLI on free ports, then the development loop (an edited
// watched file restarts that service once) and a `down` that leaves nothing behind. Needs `uv` on
// PATH (.ci/run installs it from PyPI).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { appendFile, cp, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import type { Client, Connection } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { StackStatus } from '../../src/model.js';
import { livePid } from '../../src/process/pidfile.js';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { statusQuery, restartServiceSignal, stackWorkflowId, type RestartRequest } from '../../src/workflows/definitions.js';
import { stackProcesses } from '../support/harness.js';
import { connectTestClient, testTemporalAddress } from '../support/temporal-server.js';
import { isLive, killAllWorkerProcesses, pollUntil, startWorkerProcess } from '../support/worker-process.js';

const CLI = resolve('bin/stackflow.js');
const STACK = 'python';
const SERVICES = ['data', 'user', 'ai', 'compute', 'viz', 'api_gateway'];
const BACKENDS = ['data', 'ai', 'compute', 'viz', 'user'];
const PORT_VARIABLES: Record<string, string> = {
  api_gateway: 'GATEWAY_PORT',
  data: 'DATA_PORT',
  ai: 'AI_PORT',
  compute: 'COMPUTE_PORT',
  viz: 'VIZ_PORT',
  user: 'USER_PORT',
};

let dir: string;
let stackFile: string;
let env: Record<string, string>;
const ports: Record<string, number> = {};
let client: Client;
let connection: Connection;

async function stackflow(...args: string[]) {
  return execa(process.execPath, [CLI, ...args, '-c', stackFile], { reject: false, env });
}

async function status(): Promise<StackStatus> {
  return client.workflow.getHandle(stackWorkflowId(STACK)).query(statusQuery);
}

/** Polls the stack's status query until `done` holds (the state lives in the workflow; nothing pushes it here). */
async function statusWhen(done: (status: StackStatus) => boolean, what: string, timeoutMs = 120_000): Promise<StackStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await status();
    if (done(current)) return current;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(current.services)}`);
    await new Promise((next) => setTimeout(next, 200));
  }
}

/**
 * Resolves once the workers' logs say `service` is watched for the `nth` time (a watch starts with
 * each supervision): the background worker's `worker.log`, and `more` (another worker's output).
 */
async function watching(service: string, nth: number, more: () => string = () => ''): Promise<void> {
  await pollUntil(
    `${service} to be watched (${nth})`,
    async () => {
      const log = (await readFile(join(dir, 'home', 'worker.log'), 'utf8').catch(() => '')) + more();
      return log.split('\n').filter((line) => line.includes(`${service}: watching `)).length >= nth;
    },
    { timeoutMs: 60_000, everyMs: 100 },
  );
}

/** Appends a comment to a watched file; resolves with data's status once it is healthy again under a new pid. */
async function editAndAwaitRestart(before: StackStatus, file: string) {
  const editedAt = Date.now();
  await appendFile(join(dir, file), `\n# edited by the test at ${new Date(editedAt).toISOString()}\n`);
  const after = await statusWhen(
    (s) => s.services.data!.state === 'healthy' && s.services.data!.pid !== before.services.data!.pid,
    'data to be healthy with a new pid',
  );
  console.log(`python stack: ${file} edited -> data healthy again in ${Date.parse(after.services.data!.healthyAt!) - editedAt} ms`);
  return after;
}

/** The restartService signals the stack workflow received, decoded. */
async function restartSignals(): Promise<RestartRequest[]> {
  const history = await client.workflow.getHandle(stackWorkflowId(STACK)).fetchHistory();
  const signals = (history.events ?? [])
    .map((event) => event.workflowExecutionSignaledEventAttributes)
    .filter((signal) => signal?.signalName === restartServiceSignal.name);
  return Promise.all(
    signals.map((signal) => decodeFromPayloadsAtIndex<RestartRequest>(client.options.loadedDataConverter, 0, signal!.input?.payloads)),
  );
}

/** Processes whose working directory is inside the copied project: uv, uvicorn, python. */
async function projectProcesses(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
    if (cwd.startsWith(dir)) found.push(entry);
  }
  return found;
}

beforeAll(async () => {
  // A copy, as a fresh checkout: no .venv yet (uv-sync makes it), and the edit below touches no tracked file.
  dir = await mkdtemp(join(tmpdir(), 'stackflow-python-'));
  const source = resolve('examples/python-stack');
  await cp(source, dir, {
    recursive: true,
    filter: (path) => !['.venv', '.stackflow', '__pycache__'].includes(basename(path)),
  });
  stackFile = join(dir, 'stack.yaml');
  for (const service of SERVICES) {
    let port = await findFreePort();
    while (Object.values(ports).includes(port)) port = await findFreePort();
    ports[service] = port;
  }
  env = {
    TEMPORAL_ADDRESS: testTemporalAddress(),
    STACKFLOW_TASK_QUEUE: `e2e-python-${randomUUID()}`,
    STACKFLOW_HOME: join(dir, 'home'),
    NO_COLOR: '1',
    ...Object.fromEntries(SERVICES.map((service) => [PORT_VARIABLES[service]!, String(ports[service])])),
  };
  ({ client, connection } = await connectTestClient());
});

afterAll(async () => {
  // Whatever a failed assertion left behind: drain it so no process outlives the test run.
  if (existsSync(join(dir, 'home', 'worker.pid')) || (await stackProcesses(STACK)).length > 0) await stackflow('down');
  await killAllWorkerProcesses();
  await connection?.close();
  // the copy holds a whole virtual environment
  if ((await projectProcesses()).length === 0) await rm(dir, { recursive: true, force: true });
});

describe('the Python stack (uv, FastAPI, uvicorn)', () => {
  test('comes up healthy, wires the gateway, restarts data once per watched edit (after a worker crash too), leaves nothing after down', async () => {
    const upAt = Date.now();
    const up = await stackflow('up', '-d');
    console.log(`python stack: up -d on a fresh copy (uv sync included) returned in ${Date.now() - upAt} ms`);
    expect(up.stderr).toBe('');
    expect(up.exitCode).toBe(0);
    expect(existsSync(join(dir, '.venv'))).toBe(true);

    const before = await status();
    expect(before.services['uv-sync']!.state).toBe('completed');
    for (const service of SERVICES) {
      expect(before.services[service]!.state).toBe('healthy');
      const health = await fetch(`http://127.0.0.1:${ports[service]}/health`).then((r) => r.json());
      expect(health).toEqual({ status: 'ok', service });
    }

    // The gateway finds every backend through the <DEP>_URL variables stackflow injected.
    const gateway = (await fetch(`http://127.0.0.1:${ports.api_gateway}/`).then((r) => r.json())) as {
      status: string;
      backends: Record<string, { url: string; status: string }>;
    };
    expect(gateway.status).toBe('ok');
    for (const backend of BACKENDS) {
      expect(gateway.backends[backend]).toEqual({ url: `http://127.0.0.1:${ports[backend]}`, status: 'ok' });
    }
    const predicted = (await fetch(`http://127.0.0.1:${ports.api_gateway}/ai/predict?x=5`).then((r) => r.json())) as { y: number };
    expect(predicted.y).toBeGreaterThan(0);
    // data keeps its SQLite file in the stack's state directory
    expect(existsSync(join(dir, 'home', STACK, 'data.db'))).toBe(true);

    // The development loop: one save under data's watch.paths restarts data, and only data.
    await watching('data', 1);
    const after = await editAndAwaitRestart(before, 'apps/data/main.py');
    // A restart asked for by watch: counted apart from crash restarts (status: manualRestarts).
    expect(after.services.data!.manualRestarts ?? 0).toBe((before.services.data!.manualRestarts ?? 0) + 1);
    expect(after.services.data!.restarts).toBe(before.services.data!.restarts);
    for (const service of SERVICES.filter((s) => s !== 'data')) {
      expect(after.services[service]!.pid).toBe(before.services[service]!.pid);
      expect(after.services[service]!.manualRestarts ?? 0).toBe(before.services[service]!.manualRestarts ?? 0);
    }
    // One restartService signal, naming the file (the debounce window is long past: data took seconds to restart).
    expect(await restartSignals()).toEqual([{ service: 'data', cause: '1 file changed (apps/data/main.py)' }]);

    // The watch survives the worker: SIGKILL the background worker `up -d` started; another worker
    // adopts the services and watches them again.
    await watching('data', 2);
    const crashed = await livePid(join(dir, 'home', 'worker.pid'));
    expect(crashed).toEqual(expect.any(Number));
    process.kill(crashed!, 'SIGKILL');
    await pollUntil('the worker to be gone', () => !isLive(crashed!));
    const worker = await startWorkerProcess({ address: env.TEMPORAL_ADDRESS!, taskQueue: env.STACKFLOW_TASK_QUEUE! });
    await watching('data', 3, worker.output);
    const adopted = await editAndAwaitRestart(after, 'apps/data/main.py');
    expect(adopted.services.data!.manualRestarts ?? 0).toBe((after.services.data!.manualRestarts ?? 0) + 1);
    for (const service of SERVICES.filter((s) => s !== 'data')) {
      // adopted by the new worker, not started again
      expect(adopted.services[service]!.pid).toBe(after.services[service]!.pid);
    }
    expect((await restartSignals()).map((request) => request.service)).toEqual(['data', 'data']);

    const down = await stackflow('down');
    expect(down.exitCode).toBe(0);
    await worker.stop();
    expect(await stackProcesses(STACK)).toEqual([]);
    expect(await projectProcesses()).toEqual([]);
    expect(existsSync(join(dir, 'home', 'worker.pid'))).toBe(false);
  }, 300_000);
});
