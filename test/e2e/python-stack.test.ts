// The Python team's stack (examples/python-stack) as they run it: real uv, FastAPI and uvicorn from
// the committed uv.lock, brought up by the CLI on free ports, then the development loop (an edited
// watched file restarts that service once) and a `down` that leaves nothing behind. Needs `uv` on
// PATH (.ci/run installs it from PyPI).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { appendFile, cp, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import type { Client, Connection } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { StackStatus } from '../../src/model.js';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { statusQuery, restartServiceSignal, stackWorkflowId, type RestartRequest } from '../../src/workflows/definitions.js';
import { stackProcesses } from '../support/harness.js';
import { connectTestClient, testTemporalAddress } from '../support/temporal-server.js';

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
  if (existsSync(join(dir, 'home', 'worker.pid'))) await stackflow('down');
  await connection?.close();
  // the copy holds a whole virtual environment
  if ((await projectProcesses()).length === 0) await rm(dir, { recursive: true, force: true });
});

describe('the Python stack (uv, FastAPI, uvicorn)', () => {
  test('comes up healthy, wires the gateway, restarts a service on an edit, and leaves nothing after down', async () => {
    const up = await stackflow('up', '-d');
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
    await appendFile(join(dir, 'apps/data/main.py'), '\n# edited by the test\n');
    const after = await statusWhen(
      (s) => s.services.data!.state === 'healthy' && s.services.data!.pid !== before.services.data!.pid,
      'data to be healthy with a new pid',
    );
    expect(after.services.data!.restarts).toBe(before.services.data!.restarts + 1);
    for (const service of SERVICES.filter((s) => s !== 'data')) {
      expect(after.services[service]!.pid).toBe(before.services[service]!.pid);
      expect(after.services[service]!.restarts).toBe(before.services[service]!.restarts);
    }
    // One restartService signal, naming the file (the debounce window is long past: data took seconds to restart).
    const history = await client.workflow.getHandle(stackWorkflowId(STACK)).fetchHistory();
    const signals = (history.events ?? [])
      .map((event) => event.workflowExecutionSignaledEventAttributes)
      .filter((signal) => signal?.signalName === restartServiceSignal.name);
    expect(signals).toHaveLength(1);
    const request = await decodeFromPayloadsAtIndex<RestartRequest>(client.options.loadedDataConverter, 0, signals[0]!.input?.payloads);
    expect(request).toEqual({ service: 'data', cause: '1 file changed (apps/data/main.py)' });

    const down = await stackflow('down');
    expect(down.exitCode).toBe(0);
    expect(await stackProcesses(STACK)).toEqual([]);
    expect(await projectProcesses()).toEqual([]);
    expect(existsSync(join(dir, 'home', 'worker.pid'))).toBe(false);
  }, 300_000);
});
