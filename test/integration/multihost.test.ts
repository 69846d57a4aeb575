// One stack across two hosts on one Temporal server: each host a Linux network namespace with its own
// address and its own `stackflow worker --host <id>` process (SPEC §7). Needs root for the namespaces;
// CI runs as root, and a run without them says why instead of passing silently.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import type { Client, Connection } from '@temporalio/client';
import { StackClient } from '../../src/client.js';
import { loadStack } from '../../src/config/index.js';
import type { StackSpec, StackStatus } from '../../src/model.js';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { serviceWorkflowId } from '../../src/workflows/definitions.js';
import { DEFAULT_TUNING } from '../../src/workflows/service.js';
import { FIXTURE_SERVICE, firstTime, forceCleanUp, readTimeline, stackProcesses, type TimelineEvent } from '../support/harness.js';
import { createTestNetwork, netnsUnavailableReason, relayToLoopback, type TcpRelay, type TestNetwork } from '../support/netns.js';
import { connectTestClient, testTemporalAddress } from '../support/temporal-server.js';
import { isLive, pendingActivity, pollUntil, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

const unavailable = netnsUnavailableReason();
if (unavailable && process.env.CI) throw new Error(`CI must be able to create network namespaces: ${unavailable}`);

(unavailable ? describe.skip : describe)('a stack across two hosts (network namespaces)', () => {
  let network: TestNetwork;
  let relay: TcpRelay;
  let client: Client;
  let connection: Connection;
  let stacks: StackClient;
  let dir: string;
  let file: string;
  let home: string;
  let spec: StackSpec;
  let timeline: string;
  const workers: Record<string, WorkerProcess> = {};
  const taskQueue = `multihost-${randomUUID()}`;
  const heartbeatTimeoutMs = 3000;

  // Host a advertises its address explicitly; host b's worker finds its own (the local address toward the server).
  const startWorker = (hostName: 'a' | 'b') => {
    const host = network.hosts.find((h) => h.name === hostName)!;
    const args = hostName === 'a' ? ['--advertise', host.address] : [];
    return startWorkerProcess({ address: relay.address, taskQueue, host: host.name, prefix: network.exec(host, []), args });
  };

  const bothHealthy = () =>
    pollUntil(
      'both services healthy',
      async () => {
        const s = await stacks.status(spec.name);
        return s && s.services.db?.state === 'healthy' && s.services.api?.state === 'healthy' ? s : undefined;
      },
      { timeoutMs: 60_000 },
    );

  /** The status as `stackflow status` shows it once `check` holds for it. */
  const observedUntil = (what: string, check: (s: StackStatus) => boolean) =>
    pollUntil(
      what,
      async () => {
        const s = await stacks.observedStatus(spec.name);
        return s && check(s) ? s : undefined;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    );

  /** The CLI as a user runs it on the machine of the jest run (the root namespace). */
  const stackflow = (...args: string[]) =>
    execa(process.execPath, [resolve('bin/stackflow.js'), ...args], {
      reject: false,
      env: {
        TEMPORAL_ADDRESS: testTemporalAddress(),
        TEMPORAL_CONFIG_FILE: resolve('test/fixtures/no-such-temporal.toml'),
        STACKFLOW_TASK_QUEUE: taskQueue,
        STACKFLOW_HOME: home,
        NO_COLOR: '1',
      },
    });

  beforeAll(async () => {
    network = createTestNetwork(['a', 'b']);
    dir = await mkdtemp(join(tmpdir(), 'stackflow-multihost-'));
    home = join(dir, 'home');
    // The jest run's server, reachable from both hosts through the bridge.
    relay = await relayToLoopback(network.gateway, testTemporalAddress());
    ({ client, connection } = await connectTestClient());
    stacks = new StackClient(client, taskQueue, { ...DEFAULT_TUNING, heartbeatTimeoutMs });

    const name = `mh${randomUUID().slice(0, 6)}`;
    timeline = join(dir, 'timeline.jsonl');
    const service = (host: string, port: number, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) => ({
      command: ['node', FIXTURE_SERVICE],
      host,
      port,
      // Reachable from the other host; its readiness probe still runs on its own host, on loopback.
      env: { TIMELINE_FILE: timeline, LISTEN_HOST: '0.0.0.0', ...env },
      health: { http: { url: `http://127.0.0.1:${port}/health` }, interval: '200ms' },
      shutdown: { timeout: '3s' },
      ...extra,
    });
    file = join(dir, 'stack.yaml');
    await writeFile(
      file,
      YAML.stringify({
        name,
        // Both hosts listed (so a typo in `host:` is an error), their addresses left to their workers.
        hosts: { a: {}, b: {} },
        services: {
          db: service('a', await findFreePort()),
          api: service('b', await findFreePort(), { depends_on: { db: 'healthy' } }, { FETCH_URL_FROM: 'DB_URL' }),
        },
      }),
    );
    spec = (await loadStack(file, { env: { PATH: process.env.PATH }, home })).spec;
    workers.a = await startWorker('a');
    workers.b = await startWorker('b');
  }, 120_000);

  afterAll(async () => {
    if (stacks && spec) await forceCleanUp(stacks, spec);
    for (const worker of Object.values(workers)) await worker.crash();
    await connection?.close();
    await relay?.close();
    network?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  test('api reaches db across hosts, status and the registry show each host, host b worker crash -> unknown then adopted, ordered drain', async () => {
    const [a, b] = network.hosts;
    await stacks.start(spec, []);
    const status = await bothHealthy();
    const dbPid = status.services.db.pid!;
    const apiPid = status.services.api.pid!;
    expect(status.services.db.host).toBe('a');
    expect(status.services.api.host).toBe('b');
    expect(network.contains(a, dbPid)).toBe(true);
    expect(network.contains(b, apiPid)).toBe(true);
    expect(network.contains(a, apiPid)).toBe(false);

    // Each host's worker reported its address: a's given, b's found toward the server.
    expect(status.services.db.address).toBe(a.address);
    expect(status.services.api.address).toBe(b.address);
    // api got DB_URL with a's address and reached db there from host b.
    const fetched = await pollUntil('api fetched DB_URL', async () => (await readTimeline(timeline)).find((e) => e.event === 'fetched'));
    expect(fetched.url).toBe(`http://${a.address}:${spec.services.db.port}`);
    expect(fetched.error).toBeUndefined();
    expect(fetched.body).toEqual({ service: 'db', pid: dbPid, port: spec.services.db.port });
    await logCrossHostGate(await readTimeline(timeline), client, spec.name);

    // One registry for the stack: both instances, each with the url other hosts reach it at.
    const registry = await stacks.registry(spec.name);
    expect(registry).toEqual([
      expect.objectContaining({ service: 'db', host: 'a', url: `http://${a.address}:${spec.services.db.port}`, pid: dbPid }),
      expect.objectContaining({ service: 'api', host: 'b', url: `http://${b.address}:${spec.services.api.port}`, pid: apiPid }),
    ]);

    const cliRegistry = await stackflow('registry', '--json', '-c', file);
    expect(cliRegistry.exitCode).toBe(0);
    expect(JSON.parse(cliRegistry.stdout)).toEqual(registry);

    // status: each process's CPU and memory as the worker of its own host sampled them (heartbeat details).
    const sampled = await observedUntil('both services sampled twice by their hosts (CPU is a difference)', (s) =>
      ['db', 'api'].every((name) => s.services[name].memoryBytes !== null && s.services[name].cpuPercent !== null),
    );
    for (const name of ['db', 'api']) {
      expect(sampled.services[name].state).toBe('healthy');
      expect(sampled.services[name].memoryBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(sampled.services[name].cpuPercent).toBeGreaterThanOrEqual(0);
      expect(Date.parse(sampled.services[name].sampledAt!)).toBeGreaterThan(workers.a.startedAt);
    }

    // Host b's worker dies: api keeps running, shows as unknown (host b unreachable), nothing runs it elsewhere.
    const crashedAt = Date.now();
    await workers.b.crash();
    expect(isLive(apiPid)).toBe(true);
    const silent = await observedUntil('api shown as unreachable', (s) => s.services.api.state === 'unknown');
    expect(silent.services.api.unreachableSince).toBeTruthy();
    expect(Date.parse(silent.services.api.unreachableSince!)).toBeLessThanOrEqual(crashedAt);
    expect(silent.services.api.pid).toBe(apiPid);
    expect(silent.services.db.state).toBe('healthy');
    const cliStatus = await stackflow('status', '-c', file);
    expect(cliStatus.exitCode).toBe(0);
    expect(cliStatus.stdout).toMatch(/^api +unknown \(host b unreachable since [^)]+\) +b +\d+ /m);
    expect(cliStatus.stdout).toMatch(/^db +healthy +a +\d+ /m);
    expect(isLive(apiPid)).toBe(true);
    expect((await pendingActivity(client, serviceWorkflowId(spec.name, 'api')))?.started).toBe(false);
    expect(network.pids(a).filter((pid) => pid !== workers.a.pid && pid !== dbPid)).toEqual([]);

    // b's next worker adopts it: the same process, sampled again.
    workers.b = await startWorker('b');
    await pollUntil(
      'supervision of api on the new worker of host b',
      async () => {
        const pending = await pendingActivity(client, serviceWorkflowId(spec.name, 'api'));
        return pending?.type === 'superviseService' && pending.started && pending.worker === workers.b.identity;
      },
      { timeoutMs: 60_000 },
    );
    expect(isLive(apiPid)).toBe(true);
    const adopted = await observedUntil('api sampled by the new worker', (s) => s.services.api.state === 'healthy' && Date.parse(s.services.api.sampledAt ?? '') > workers.b.startedAt);
    expect(adopted.services.api.pid).toBe(apiPid);

    // The drain crosses hosts in reverse order: api (on b) is gone before db (on a) is asked to stop.
    const drained = await stacks.shutdown(spec.name, 'test');
    expect(drained?.state).toBe('stopped');
    expect(await stackProcesses(spec.name)).toEqual([]);
    const events = await readTimeline(timeline);
    expect(firstTime(events, 'api', 'exit')).toBeLessThanOrEqual(firstTime(events, 'db', 'term'));
    expect(network.pids(a)).toEqual([workers.a.pid]);
    expect(network.pids(b)).toEqual([workers.b.pid]);
  }, 240_000);

  test('down with host b worker gone: exits 1 after --timeout naming api and host b; the drain finishes once b is back', async () => {
    const [a, b] = network.hosts;
    await stacks.start(spec, []);
    const { services } = await bothHealthy();
    const apiPid = services.api.pid!;
    await workers.b.crash();

    const down = await stackflow('down', '-c', file, '--timeout', '2s');
    expect(down.exitCode).toBe(1);
    expect(down.stderr).toMatch(/not stopped after 2(\.0)?s:/);
    expect(down.stderr).toMatch(/api on host b: unknown \(host b unreachable since [^)]+\)/);
    expect(down.stderr).not.toMatch(/at .*\.js:\d+/);
    // Nothing on host b was touched: api still runs there.
    expect(isLive(apiPid)).toBe(true);
    expect(network.contains(b, apiPid)).toBe(true);

    // b's worker comes back and the drain goes on to the end, leaving nothing on either host.
    workers.b = await startWorker('b');
    const drained = await stacks.handle(spec.name).result();
    expect(drained.state).toBe('stopped');
    expect(await stackProcesses(spec.name)).toEqual([]);
    for (const worker of Object.values(workers)) await worker.stop();
    expect(network.pids(a)).toEqual([]);
    expect(network.pids(b)).toEqual([]);
  }, 180_000);
});

/**
 * Prints how fast the cross-host gate was, hop by hop: db ready (its timeline) -> db's awaitHealthy
 * completed -> api's workflow started -> api's spawn scheduled -> api's process running (its timeline).
 */
async function logCrossHostGate(events: TimelineEvent[], client: Client, stack: string): Promise<void> {
  const when = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null } | undefined) =>
    e ? Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6) : NaN;
  const history = async (service: string) => (await client.workflow.getHandle(serviceWorkflowId(stack, service)).fetchHistory()).events ?? [];
  const [dbEvents, apiEvents] = [await history('db'), await history('api')];
  const healthy = dbEvents.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'awaitHealthy');
  const healthyDone = dbEvents.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(healthy?.eventId));
  const spawnScheduled = apiEvents.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'spawnService');
  const marks = [
    firstTime(events, 'db', 'ready'),
    when(healthyDone),
    when(apiEvents[0]),
    when(spawnScheduled),
    firstTime(events, 'api', 'spawn'),
  ];
  const hops = marks.slice(1).map((t, i) => (t - marks[i]!).toFixed(0));
  console.log(
    `cross-host gate: db ready -> api process ${(marks[4]! - marks[0]!).toFixed(0)} ms ` +
      `(db probe seen ${hops[0]}, stack hop to api workflow started ${hops[1]}, its first task ${hops[2]}, spawn + node start ${hops[3]})`,
  );
}

if (unavailable) {
  test('multi-host test environment', () => {
    console.warn(`multi-host tests not run: ${unavailable}`);
  });
}
