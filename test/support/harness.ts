// Integration-test harness: a real worker on a private task queue against the jest run's dev
// server, stacks written as real stack files of fixture services, and the process table.
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import YAML from 'yaml';
import { StackClient } from '../../src/client.js';
import { loadStack } from '../../src/config/index.js';
import type { StackSpec } from '../../src/model.js';
import { createStackflowWorker } from '../../src/worker.js';
import type { CodecEndpoint } from '../../src/codec/index.js';
import { DEFAULT_TUNING, type Tuning } from '../../src/workflows/service.js';
import { serviceWorkflowId, stackWorkflowId } from '../../src/workflows/definitions.js';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { connectTestClient, testDataConverter, testTemporalAddress } from './temporal-server.js';

export const FIXTURE_SERVICE = resolve('test/fixtures/service.mjs');

export interface TestWorld {
  stacks: StackClient;
  /** The codec endpoint of the world's worker, when startWorld was asked for one. */
  codecEndpoint: CodecEndpoint | null;
  taskQueue: string;
  dir: string;
  /** Every stack made by fixtureStack: `stop` clears away whatever a failed test left of them. */
  fixtures: StackSpec[];
  stop(): Promise<void>;
}

// Worker state changes at INFO would bury the test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

export interface WorldOptions {
  /** Base64 key(s) as STACKFLOW_ENCRYPTION_KEY takes them; default: the run's key (test/global-setup.ts). */
  encryptionKey?: string;
  /** Serve the codec endpoint on this port (0: a free one). */
  codecEndpointPort?: number;
}

/**
 * A worker and client on a fresh task queue, and a scratch directory for stack files and logs.
 * Payloads are encrypted, as for users: with the jest run's random key unless `options` names one.
 */
export async function startWorld(tuning: Partial<Tuning> = {}, options: WorldOptions = {}): Promise<TestWorld> {
  const taskQueue = `test-${randomUUID()}`;
  const dir = await mkdtemp(join(tmpdir(), 'stackflow-test-'));
  const dataConverter = await testDataConverter(options.encryptionKey);
  const { client, connection } = await connectTestClient(dataConverter);
  const nativeConnection = await NativeConnection.connect({ address: testTemporalAddress() });
  const worker = await createStackflowWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    host: 'local',
    dataConverter,
    ...(options.codecEndpointPort === undefined ? {} : { codecEndpoint: { port: options.codecEndpointPort } }),
  });
  const running = worker.run();
  const stacks = new StackClient(client, taskQueue, { ...DEFAULT_TUNING, heartbeatTimeoutMs: 3000, ...tuning });
  const fixtures: StackSpec[] = [];
  return {
    taskQueue,
    stacks,
    codecEndpoint: worker.codecEndpoint,
    dir,
    fixtures,
    stop: async () => {
      for (const spec of fixtures) await forceCleanUp(stacks, spec);
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
    },
  };
}

export interface FixtureOptions {
  port?: boolean;
  readyDelayMs?: number;
  dependsOn?: Record<string, string>;
  env?: Record<string, string>;
  /** Merged over the default http health check. */
  health?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

export interface FixtureStack {
  spec: StackSpec;
  /** The file every service of this stack appends its spawn/ready/term/exit events to. */
  timeline: string;
}

/** Writes a stack file of fixture services (each on a free port) and loads it as `up` would. */
export async function fixtureStack(world: TestWorld, services: Record<string, FixtureOptions>): Promise<FixtureStack> {
  const name = `t${randomUUID().slice(0, 8)}`;
  const timeline = join(world.dir, `${name}.timeline.jsonl`);
  const doc: Record<string, unknown> = { name, services: {} };
  for (const [service, options] of Object.entries(services)) {
    const port = options.port === false ? undefined : await findFreePort();
    (doc.services as Record<string, unknown>)[service] = {
      command: ['node', FIXTURE_SERVICE],
      ...(port ? { port } : {}),
      env: {
        TIMELINE_FILE: timeline,
        READY_DELAY_MS: String(options.readyDelayMs ?? 0),
        ...options.env,
      },
      health: port ? { http: { url: `http://127.0.0.1:${port}/health` }, interval: '200ms', ...options.health } : options.health,
      depends_on: options.dependsOn ?? {},
      restart: { policy: 'on-failure', max_restarts: 2, backoff: { initial: '100ms', max: '500ms', factor: 2 } },
      shutdown: { timeout: '3s' },
      ...options.extra,
    };
  }
  const file = join(world.dir, `${name}.yaml`);
  await writeFile(file, YAML.stringify(doc));
  const loaded = await loadStack(file, { env: { PATH: process.env.PATH }, home: join(world.dir, 'home') });
  world.fixtures.push(loaded.spec);
  return { spec: loaded.spec, timeline };
}

export interface TimelineEvent {
  service: string;
  event: 'spawn' | 'ready' | 'term' | 'exit' | 'child' | 'fetched';
  t: number;
  pid: number;
  /** `fetched`: the URL asked, and its answer (the fixture's `GET /`) or why none came. */
  url?: string;
  body?: { service: string; pid: number; port: number };
  error?: string;
}

export async function readTimeline(file: string): Promise<TimelineEvent[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TimelineEvent);
}

export function firstTime(events: TimelineEvent[], service: string, event: TimelineEvent['event']): number {
  const found = events.find((e) => e.service === service && e.event === event);
  if (!found) throw new Error(`no "${event}" event for ${service} in the timeline`);
  return found.t;
}

/** Pids of live processes whose environment says they belong to `stack` (what `down` must leave empty). */
export async function stackProcesses(stack: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/\) [ZX] /.test(stat)) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.split('\0').includes(`STACKFLOW_STACK=${stack}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** After a test, whatever it left: terminate the stack's workflows and SIGKILL its processes. */
export async function forceCleanUp(stacks: StackClient, spec: StackSpec): Promise<void> {
  const ids = [stackWorkflowId(spec.name), ...Object.keys(spec.services).map((s) => serviceWorkflowId(spec.name, s))];
  for (const id of ids) {
    await stacks.client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
  }
  for (const pid of await stackProcesses(spec.name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
