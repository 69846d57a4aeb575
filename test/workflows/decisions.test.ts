// The workflows' decisions with stub activities on the jest run's dev server (fast: no processes,
// no probes). What is real elsewhere (test/integration) is stubbed here on purpose: the point is
// what the workflows decide: give up, stop during a back-off, restart now, continue as new, drain order.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { asStartFailure, tellStack, type createActivities } from '../../src/activities/index.js';
import type { AwaitHealthyInput, SpawnInput, StopInput } from '../../src/activities/contract.js';
import type { ServiceSpec, StackSpec, StackStatus } from '../../src/model.js';
import { WORKFLOW_BUNDLE_PATH } from '../../src/paths.js';
import {
  hostTaskQueue,
  restartNowSignal,
  serviceWorkflowId,
  shutdownSignal,
  startServicesUpdate,
  statusQuery,
  stopServiceSignal,
  stopServicesUpdate,
} from '../../src/workflows/definitions.js';
import { serviceWorkflow, stackWorkflow } from '../../src/workflows/index.js';
import { DEFAULT_TUNING, type ServiceWorkflowInput } from '../../src/workflows/service.js';
import { serviceSpec } from '../fixtures/proc/helpers.js';
import { ServiceStartError } from '../../src/process/errors.js';
import { testTemporalAddress } from '../support/temporal-server.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

type Activities = ReturnType<typeof createActivities>;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: testTemporalAddress() });
});
afterAll(async () => {
  await env?.teardown();
});

/** A stub activity that runs until it is cancelled (the workers' shutdown cancels it). */
function forever(): Promise<never> {
  return Context.current().cancelled as Promise<never>;
}

/** Stub host activities, each overridable; every call is recorded as `<activity> <service>`. */
function stubs(overrides: Partial<Activities> = {}) {
  const calls: string[] = [];
  let pid = 1000;
  const base: Activities = {
    // Like the real ones, they send their reports to the stack themselves.
    spawnService: async ({ reportTo }: SpawnInput) => {
      const started = { pid: ++pid, startedAt: new Date().toISOString() };
      await tellStack(reportTo, started);
      return { ...started, adopted: false };
    },
    awaitHealthy: async ({ reportTo }: AwaitHealthyInput) => {
      const healthyAt = new Date().toISOString();
      await tellStack(reportTo, { healthyAt });
      return { kind: 'healthy', healthyAt, attempts: 1, detail: 'ok' };
    },
    superviseService: () => forever(),
    stopService: async () => ({ exit: null, escalated: false, remaining: [], notOurs: [] }),
    killService: async () => ({ exit: null, escalated: false, remaining: [], notOurs: [] }),
  };
  const activities = Object.fromEntries(
    (Object.keys(base) as (keyof Activities)[]).map((name) => [
      name,
      async (input: { spec: ServiceSpec }) => {
        calls.push(`${name} ${input.spec.name}`);
        return ((overrides[name] ?? base[name]) as (i: unknown) => Promise<unknown>)(input);
      },
    ]),
  ) as unknown as Activities;
  return { activities, calls };
}

/** Runs `body` with a workflow worker and stub activity workers (one per host) on a fresh queue. */
async function withWorkers<T>(activities: Activities, body: (queue: string) => Promise<T>, hosts = ['local']): Promise<T> {
  const queue = `decisions-${randomUUID()}`;
  const workers = await Promise.all([
    Worker.create({ connection: env.nativeConnection, taskQueue: queue, workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }),
    // As in src/worker.ts: a host's queue carries its service workflows and their activities.
    ...hosts.map((host) =>
      Worker.create({ connection: env.nativeConnection, taskQueue: hostTaskQueue(queue, host), activities, workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }),
    ),
  ]);
  const [first, ...rest] = workers;
  return first.runUntil(async () => {
    const running = rest.map((w) => w.run());
    try {
      return await body(queue);
    } finally {
      rest.forEach((w) => w.shutdown());
      await Promise.all(running);
    }
  });
}

function serviceInput(queue: string, spec: ServiceSpec, tuning = DEFAULT_TUNING): ServiceWorkflowInput {
  return {
    stack: 'decisions',
    stackDir: '/nonexistent/decisions',
    spec,
    parentWorkflowId: `no-parent-${randomUUID()}`,
    workflowQueue: queue,
    tuning,
    carried: { restarts: 0, restartTimes: [], lastExit: null, phase: 'starting' },
  };
}

const fastBackoff = { initialMs: 10, maxMs: 10, factor: 1 };
const crashed = { reason: 'exit' as const, exit: { code: 1, signal: null, at: new Date().toISOString() }, detail: 'api: exited with code 1' };

describe('service workflow decisions', () => {
  test('gives up after max_restarts within the window: the run fails with the reason; each exit is marked in the log', async () => {
    const markers: string[] = [];
    const { activities, calls } = stubs({
      superviseService: async () => crashed,
      stopService: async (input: StopInput) => {
        if (input.marker) markers.push(input.marker.then);
        return { exit: null, escalated: false, remaining: [], notOurs: [] };
      },
    });
    const spec = serviceSpec('api', ['x'], { restart: { policy: 'on-failure', maxRestarts: 2, backoff: fastBackoff } });
    const failure = await withWorkers(activities, (queue) =>
      env.client.workflow.execute(serviceWorkflow, { taskQueue: queue, workflowId: `api-${randomUUID()}`, args: [serviceInput(queue, spec)] }),
    ).catch((err: unknown) => err);
    // A service that gave up is a Failed run in the Web UI's workflow list.
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('ServiceFailed');
    expect(cause.message).toBe('api failed: gave up after 2 restarts within 10m: api: exited with code 1');
    expect(cause.details?.[0]).toMatchObject({ restarts: 2, manualRestarts: 0 });
    expect(markers).toEqual([
      expect.stringMatching(/^restarting in \d+ms$/),
      expect.stringMatching(/^restarting in \d+ms$/),
      'not restarted: gave up after 2 restarts within 10m: api: exited with code 1',
    ]);
    expect(calls.filter((c) => c === 'spawnService api')).toHaveLength(3);
    // Every attempt's process group is cleaned up before the next decision.
    expect(calls.filter((c) => c === 'stopService api')).toHaveLength(3);
  });

  test('a start that failed without an exit (a port held by another process) marks its cause in the log', async () => {
    const markers: string[] = [];
    const held = new ServiceStartError({ service: 'data', command: ['x'], reason: 'port', detail: 'port 8001 is held by pid 12233 (python3 -m http.server)' });
    const { activities } = stubs({
      spawnService: async () => {
        throw asStartFailure(held);
      },
      stopService: async (input: StopInput) => {
        if (input.marker) markers.push(`${input.marker.cause ?? 'no cause'}, ${input.marker.then}`);
        return { exit: null, escalated: false, remaining: [], notOurs: [] };
      },
    });
    const spec = serviceSpec('data', ['x'], { restart: { policy: 'on-failure', maxRestarts: 1, backoff: fastBackoff } });
    await withWorkers(activities, (queue) =>
      env.client.workflow.execute(serviceWorkflow, { taskQueue: queue, workflowId: `data-${randomUUID()}`, args: [serviceInput(queue, spec)] }),
    ).catch((err: unknown) => err);
    expect(markers[0]).toMatch(/^not started: port 8001 is held by pid 12233 \(python3 -m http\.server\), restarting in \d+ms$/);
  });

  test('a stop that could not end every process of the service says which: leftRunning and the error name them', async () => {
    const escaped = { pid: 4242, command: 'sleep 3977' };
    const { activities, calls } = stubs({ stopService: async () => ({ exit: null, escalated: true, remaining: [escaped], notOurs: [] }) });
    const spec = serviceSpec('api', ['x']);
    const outcome = await withWorkers(activities, async (queue) => {
      const handle = await env.client.workflow.start(serviceWorkflow, { taskQueue: queue, workflowId: `api-${randomUUID()}`, args: [serviceInput(queue, spec)] });
      while (!calls.includes('superviseService api')) await new Promise((r) => setTimeout(r, 20));
      await handle.signal(stopServiceSignal, { reason: 'test' });
      return handle.result();
    });
    expect(outcome).toMatchObject({ state: 'stopped', leftRunning: [escaped], error: 'still running after its stop: pid 4242 (sleep 3977)' });
  });

  test('a stop during the back-off ends the workflow at once, without another spawn', async () => {
    const { activities, calls } = stubs({ superviseService: async () => crashed });
    const spec = serviceSpec('api', ['x'], { restart: { policy: 'always', maxRestarts: 5, backoff: { initialMs: 600_000, maxMs: 600_000, factor: 1 } } });
    const outcome = await withWorkers(activities, async (queue) => {
      const handle = await env.client.workflow.start(serviceWorkflow, { taskQueue: queue, workflowId: `api-${randomUUID()}`, args: [serviceInput(queue, spec)] });
      while (!calls.includes('stopService api')) await new Promise((r) => setTimeout(r, 20));
      await handle.signal(stopServiceSignal, { reason: 'test' });
      return handle.result();
    });
    expect(outcome).toMatchObject({ state: 'stopped', restarts: 0 });
    expect(calls.filter((c) => c === 'spawnService api')).toHaveLength(1);
  });

  test('restart now: stops the process and spawns again at once, counting the restart', async () => {
    const { activities, calls } = stubs();
    const spec = serviceSpec('api', ['x']);
    const outcome = await withWorkers(activities, async (queue) => {
      const handle = await env.client.workflow.start(serviceWorkflow, { taskQueue: queue, workflowId: `api-${randomUUID()}`, args: [serviceInput(queue, spec)] });
      while (!calls.includes('superviseService api')) await new Promise((r) => setTimeout(r, 20));
      await handle.signal(restartNowSignal, { cause: '1 file changed (api.py)' });
      while (calls.filter((c) => c === 'superviseService api').length < 2) await new Promise((r) => setTimeout(r, 20));
      await handle.signal(stopServiceSignal, { reason: 'test' });
      const result = await handle.result();
      const history = await handle.fetchHistory();
      const summaries = history.events!.flatMap((e) => (e.userMetadata?.summary?.data ? [Buffer.from(e.userMetadata.summary.data).toString()] : []));
      return { result, summaries };
    });
    // Asked for, not a crash: counted apart.
    expect(outcome.result).toMatchObject({ state: 'stopped', restarts: 0, manualRestarts: 1 });
    expect(calls).toEqual(['spawnService api', 'awaitHealthy api', 'superviseService api', 'stopService api', 'spawnService api', 'awaitHealthy api', 'superviseService api', 'stopService api']);
    expect(outcome.summaries.some((s) => s.includes('spawn api (restart: 1 file changed (api.py))'))).toBe(true);
  });

  test('continues as new past its history limit, carrying its restart count', async () => {
    let crashes = 0;
    const { activities } = stubs({ superviseService: async () => (++crashes <= 6 ? crashed : forever()) });
    const spec = serviceSpec('api', ['x'], { restart: { policy: 'always', maxRestarts: 100, backoff: fastBackoff } });
    const { outcome, runs } = await withWorkers(activities, async (queue) => {
      const workflowId = `api-${randomUUID()}`;
      const handle = await env.client.workflow.start(serviceWorkflow, {
        taskQueue: queue,
        workflowId,
        args: [serviceInput(queue, spec, { ...DEFAULT_TUNING, maxHistoryEvents: 40 })],
      });
      while (crashes < 7) await new Promise((r) => setTimeout(r, 20));
      await handle.signal(stopServiceSignal, { reason: 'test' });
      const outcome = await handle.result();
      let runs = 0;
      for await (const _ of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs++;
      return { outcome, runs };
    });
    expect(outcome).toMatchObject({ state: 'stopped', restarts: 6 });
    expect(runs).toBeGreaterThan(1);
  });
});

describe('stack workflow decisions', () => {
  function stackOf(services: ServiceSpec[]): StackSpec {
    return { name: `d${randomUUID().slice(0, 8)}`, home: '/nonexistent', services: Object.fromEntries(services.map((s) => [s.name, s])) } as StackSpec;
  }

  test('launches every service at once with its same-host gates, and drains with the host ordering same-host dependents', async () => {
    const spawns: SpawnInput[] = [];
    const stops: StopInput[] = [];
    const { activities } = stubs({
      spawnService: async (input: SpawnInput) => {
        spawns.push(input);
        const started = { pid: 1 + spawns.length, startedAt: new Date().toISOString() };
        await tellStack(input.reportTo, started);
        return { ...started, adopted: false };
      },
      stopService: async (input: StopInput) => {
        stops.push(input);
        return { exit: null, escalated: false, remaining: [], notOurs: [] };
      },
    });
    const healthy = { condition: 'healthy' as const };
    const stack = stackOf([
      serviceSpec('db', ['x']),
      serviceSpec('api', ['x'], { dependsOn: { db: healthy } }),
      serviceSpec('remote', ['x'], { host: 'h2', dependsOn: { db: healthy } }),
      serviceSpec('gateway', ['x'], { dependsOn: { api: healthy, remote: healthy } }),
    ]);
    const final = await withWorkers(
      activities,
      async (queue) => {
        const handle = await env.client.workflow.start(stackWorkflow, {
          taskQueue: queue,
          workflowId: `stack-${stack.name}`,
          args: [{ stack, services: [], workflowQueue: queue, tuning: DEFAULT_TUNING }],
        });
        while (spawns.length < 4) await new Promise((r) => setTimeout(r, 20));
        await handle.signal(shutdownSignal, { reason: 'test' });
        return handle.result();
      },
      ['local', 'h2'],
    );
    expect(final.state).toBe('stopped');
    const gatesOf = (name: string) => spawns.find((s) => s.spec.name === name)?.waitFor ?? [];
    // api is gated on its host; remote (another host) was launched only once db was reported healthy, ungated;
    // gateway waited here for remote (another host) and then launched gated on nothing unmet on its host.
    expect(gatesOf('db')).toEqual([]);
    expect(gatesOf('api')).toEqual([{ service: 'db', condition: 'healthy' }]);
    expect(gatesOf('remote')).toEqual([]);
    const afterOf = (name: string) => stops.find((s) => s.spec.name === name)?.after ?? [];
    expect(afterOf('gateway')).toEqual([]);
    expect(afterOf('api')).toEqual(['gateway']);
    // db has a dependent on another host: its stop is sent only once remote's workflow finished.
    expect(stops.findIndex((s) => s.spec.name === 'db')).toBeGreaterThan(stops.findIndex((s) => s.spec.name === 'remote'));
    // By then api may or may not have finished: if not, db's host waits it out.
    expect([[], ['api']]).toContainEqual(afterOf('db'));
    expect(stops).toHaveLength(4);
  });

  test('stopServices stops a service after its dependents and keeps both stopped; startServices brings them back', async () => {
    const stops: StopInput[] = [];
    const { activities } = stubs({
      stopService: async (input: StopInput) => {
        stops.push(input);
        return { exit: null, escalated: false, remaining: [], notOurs: [] };
      },
    });
    const stack = stackOf([serviceSpec('db', ['x']), serviceSpec('api', ['x'], { dependsOn: { db: { condition: 'healthy' } } }), serviceSpec('cache', ['x'])]);
    const healthy = (s: StackStatus, names: string[]) => names.every((n) => s.services[n]?.state === 'healthy');
    const result = await withWorkers(activities, async (queue) => {
      const handle = await env.client.workflow.start(stackWorkflow, {
        taskQueue: queue,
        workflowId: `stack-${stack.name}`,
        args: [{ stack, services: [], workflowQueue: queue, tuning: DEFAULT_TUNING }],
      });
      const until = async (ok: (s: StackStatus) => boolean) => {
        for (;;) {
          const s = await handle.query(statusQuery);
          if (ok(s)) return s;
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await until((s) => healthy(s, ['db', 'api', 'cache']));
      const stopped = await handle.executeUpdate(stopServicesUpdate, { args: [{ services: ['db'] }] });
      const afterStop = await handle.query(statusQuery);
      const stopCalls = stops.map((s) => ({ service: s.spec.name, after: s.after ?? [] }));
      const again = await handle.executeUpdate(startServicesUpdate, { args: [{ stack, services: ['api'] }] });
      const afterStart = await until((s) => healthy(s, ['db', 'api', 'cache']));
      await handle.signal(shutdownSignal, { reason: 'test' });
      await handle.result();
      return { stopped, afterStop, stopCalls, again, afterStart };
    });
    expect(result.stopped.sort()).toEqual(['api', 'db']);
    // Dependents first: db's stop either came after api's or waits on its host for api (same host).
    const apiAt = result.stopCalls.findIndex((s) => s.service === 'api');
    const db = result.stopCalls.findIndex((s) => s.service === 'db');
    expect(result.stopCalls).toHaveLength(2);
    expect(db > apiAt || result.stopCalls[db]!.after.includes('api')).toBe(true);
    expect(result.afterStop.state).not.toBe('stopped');
    expect(result.afterStop.services.db.state).toBe('stopped');
    expect(result.afterStop.services.api.state).toBe('stopped');
    expect(result.afterStop.services.cache.state).toBe('healthy');
    expect(result.again.sort()).toEqual(['api', 'db']);
    expect(result.afterStart.services.cache.state).toBe('healthy');
  });

  test('services named like built-in object properties start, report and drain like any other', async () => {
    const { activities, calls } = stubs();
    const healthy = { condition: 'healthy' as const };
    const stack = stackOf([
      serviceSpec('constructor', ['x']),
      serviceSpec('toString', ['x']),
      serviceSpec('valueOf', ['x'], { dependsOn: { constructor: healthy } }),
      serviceSpec('hasOwnProperty', ['x'], { dependsOn: { valueOf: healthy } }),
    ]);
    const names = Object.keys(stack.services);
    const final = await withWorkers(activities, async (queue) => {
      const handle = await env.client.workflow.start(stackWorkflow, {
        taskQueue: queue,
        workflowId: `stack-${stack.name}`,
        args: [{ stack, services: [], workflowQueue: queue, tuning: DEFAULT_TUNING }],
      });
      while (names.some((n) => !calls.includes(`superviseService ${n}`))) await new Promise((r) => setTimeout(r, 20));
      const running = await handle.query(statusQuery);
      expect(Object.keys(running.services).sort()).toEqual([...names].sort());
      expect(Object.values(running.services).map((svc) => svc.state)).toEqual(names.map(() => 'healthy'));
      await handle.signal(shutdownSignal, { reason: 'test' });
      return handle.result();
    });
    expect(final.state).toBe('stopped');
    for (const name of names) expect(final.services[name]).toMatchObject({ state: 'stopped' });
  });

  test('a gated service whose dependency failed is told to give up and ends blocked with the reason', async () => {
    const { activities, calls } = stubs({
      awaitHealthy: async (input: AwaitHealthyInput) => {
        if (input.spec.name === 'db') throw ApplicationFailure.nonRetryable('db: never ready', 'ServiceStartError');
        await tellStack(input.reportTo, { healthyAt: new Date().toISOString() });
        return { kind: 'healthy', healthyAt: new Date().toISOString(), attempts: 1, detail: 'ok' };
      },
      // The gate never opens here: the stub stands for a host whose bus waits for db.
      spawnService: async (input: SpawnInput) =>
        input.waitFor?.length ? forever() : { pid: 7, startedAt: new Date().toISOString(), adopted: false },
    });
    const stack = stackOf([
      serviceSpec('db', ['x'], { restart: { policy: 'never', maxRestarts: 0, backoff: fastBackoff } }),
      serviceSpec('api', ['x'], { dependsOn: { db: { condition: 'healthy' } } }),
    ]);
    const status = await withWorkers(activities, async (queue) => {
      const handle = await env.client.workflow.start(stackWorkflow, {
        taskQueue: queue,
        workflowId: `stack-${stack.name}`,
        args: [{ stack, services: [], workflowQueue: queue, tuning: DEFAULT_TUNING }],
      });
      while ((await handle.query(statusQuery)).services.api.state !== 'blocked') await new Promise((r) => setTimeout(r, 20));
      const apiOutcome = await env.client.workflow.getHandle(serviceWorkflowId(stack.name, 'api')).result();
      await handle.signal(shutdownSignal, { reason: 'test' });
      return { apiOutcome, final: await handle.result() };
    });
    expect(status.apiOutcome.state).toBe('stopped');
    expect(status.final.services.api).toMatchObject({ state: 'blocked', error: 'needs db healthy, but it is failed' });
    expect(status.final.services.db.state).toBe('failed');
    expect(calls.filter((c) => c === 'awaitHealthy api')).toEqual([]);
  });
});
