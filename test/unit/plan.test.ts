// The stack's start and drain decisions (src/lifecycle/plan.ts), without Temporal.
import { describe, expect, test } from '@jest/globals';
import { GATE_RELEASE_GRACE_MS, planStarts, planStops } from '../../src/lifecycle/plan.js';
import type { ServiceRun, ServiceSlot } from '../../src/lifecycle/stack-state.js';
import { emptyServiceStatus } from '../../src/lifecycle/status.js';
import type { DependencyCondition, ServiceSpec, ServiceState } from '../../src/model.js';
import { serviceSpec } from '../fixtures/proc/helpers.js';

const NOW = 1_000_000;

interface Shape {
  host?: string;
  state?: ServiceState;
  pid?: number | null;
  launched?: boolean;
  gated?: boolean;
  released?: boolean;
  launchedAt?: number;
  metSince?: number;
  dependsOn?: Record<string, DependencyCondition | { condition: DependencyCondition; timeoutMs: number }>;
}

/** Slots and specs of a stack of the given shapes, as StackState holds them. */
function stack(shapes: Record<string, Shape>): { slots: Record<string, ServiceSlot>; specs: Record<string, ServiceSpec> } {
  const slots: Record<string, ServiceSlot> = {};
  const specs: Record<string, ServiceSpec> = {};
  for (const [name, s] of Object.entries(shapes)) {
    const dependsOn = Object.fromEntries(
      Object.entries(s.dependsOn ?? {}).map(([dep, d]) => [dep, typeof d === 'string' ? { condition: d } : d]),
    ) as ServiceSpec['dependsOn'];
    specs[name] = serviceSpec(name, ['true'], { host: s.host ?? 'local', dependsOn });
    const status = { ...emptyServiceStatus(specs[name].host, undefined), state: s.state ?? 'pending', pid: s.pid ?? null };
    const run: ServiceRun = {
      n: 1,
      started: true,
      finished: false,
      stopSent: false,
      lastSeq: 0,
      gated: s.gated ?? false,
      released: s.released ?? false,
      ...(s.metSince !== undefined && { metSince: s.metSince }),
    };
    slots[name] = {
      status,
      wantedSince: NOW - 10,
      ...(s.launchedAt !== undefined && { launchedAt: s.launchedAt }),
      ...(s.launched && { run }),
    };
  }
  return { slots, specs };
}

/** planStarts over a stack built by `stack`. */
const starts = (services: ReturnType<typeof stack>, now: number) => planStarts(services.slots, services.specs, now);

describe('planStarts', () => {
  test('launches every pending service at once, handing its unmet same-host dependencies to the host as gates', () => {
    const plan = starts(stack({ db: {}, api: { dependsOn: { db: 'healthy' } }, job: { dependsOn: { db: 'started' } } }), NOW);
    expect(plan.actions).toEqual([
      { kind: 'launch', service: 'db', gates: [] },
      { kind: 'launch', service: 'api', gates: [{ service: 'db', condition: 'healthy' }] },
      { kind: 'launch', service: 'job', gates: [{ service: 'db', condition: 'started' }] },
    ]);
  });

  test('a dependency on another host is waited for here: no launch until the reports show it met', () => {
    const waiting = stack({ db: { host: 'b', launched: true, state: 'starting', launchedAt: NOW - 5 }, api: { dependsOn: { db: 'healthy' } } });
    const plan = starts(waiting, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.wakeAt).toBeGreaterThan(NOW);
    const met = stack({ db: { host: 'b', launched: true, state: 'healthy', pid: 7 }, api: { dependsOn: { db: 'healthy' } } });
    expect(starts(met, NOW).actions).toEqual([{ kind: 'launch', service: 'api', gates: [] }]);
  });

  test('a dependency being restarted is gated on a new process: its current pid is stale', () => {
    const plan = starts(stack({ db: { launched: true, state: 'restarting', pid: 41 }, api: { dependsOn: { db: 'healthy' } } }), NOW);
    expect(plan.actions).toEqual([{ kind: 'launch', service: 'api', gates: [{ service: 'db', condition: 'healthy', stalePid: 41 }] }]);
  });

  test('a gated service whose dependency failed is blocked with the reason; an independent one is not touched', () => {
    const plan = starts(
      stack({
        db: { launched: true, state: 'failed' },
        api: { launched: true, gated: true, dependsOn: { db: 'healthy' } },
        cache: { launched: true, state: 'starting', pid: 5 },
      }),
      NOW,
    );
    expect(plan.actions).toEqual([{ kind: 'block', service: 'api', reason: 'needs db healthy, but it is failed' }]);
  });

  test('a gated service past its dependency deadline is blocked, naming the wait', () => {
    const services = stack({
      db: { launched: true, state: 'starting', pid: 3, launchedAt: NOW - 5000 },
      api: { launched: true, gated: true, dependsOn: { db: { condition: 'healthy', timeoutMs: 1000 } } },
    });
    services.slots.api.wantedSince = NOW - 5000;
    expect(starts(services, NOW).actions).toEqual([
      { kind: 'block', service: 'api', reason: 'api waited 5s for db healthy: it is starting (process running)' },
    ]);
    services.slots.api.wantedSince = NOW - 20;
    services.slots.db.launchedAt = NOW - 20;
    expect(starts(services, NOW)).toEqual({ actions: [], wakeAt: NOW - 20 + 1000 });
  });

  test('a gate the host has not opened within the grace after the reports show it met is released', () => {
    const shapes = (metSince?: number, released = false) =>
      stack({
        db: { launched: true, state: 'healthy', pid: 3 },
        api: { launched: true, gated: true, released, metSince, dependsOn: { db: 'healthy' } },
      });
    expect(starts(shapes(), NOW)).toEqual({ actions: [{ kind: 'met', service: 'api' }], wakeAt: NOW + GATE_RELEASE_GRACE_MS });
    expect(starts(shapes(NOW - 1), NOW)).toEqual({ actions: [], wakeAt: NOW - 1 + GATE_RELEASE_GRACE_MS });
    expect(starts(shapes(NOW - GATE_RELEASE_GRACE_MS), NOW).actions).toEqual([{ kind: 'release', service: 'api' }]);
    expect(starts(shapes(NOW - GATE_RELEASE_GRACE_MS, true), NOW).actions).toEqual([]);
  });

  test('the grace starts over when a dependency goes back to waiting', () => {
    const services = stack({
      db: { launched: true, state: 'restarting', pid: null },
      api: { launched: true, gated: true, metSince: NOW - 100, dependsOn: { db: 'healthy' } },
    });
    expect(starts(services, NOW).actions).toEqual([{ kind: 'unmet', service: 'api' }]);
  });
});

describe('planStops', () => {
  const deps = { gateway: ['api'], api: ['db'], worker: ['db'], db: [] as string[] };
  const dependents = { db: ['api', 'worker'], api: ['gateway'], worker: [], gateway: [] };
  const all = (host: (name: string) => string, overrides: Record<string, Partial<ServiceRun>> = {}) => {
    const slots: Record<string, ServiceSlot> = {};
    const specs: Record<string, ServiceSpec> = {};
    for (const name of Object.keys(deps)) {
      specs[name] = serviceSpec(name, ['true'], { host: host(name) });
      const run = { n: 1, started: true, finished: false, stopSent: false, lastSeq: 0, gated: false, released: false, ...overrides[name] };
      slots[name] = { status: emptyServiceStatus(host(name), undefined), wantedSince: NOW, run };
    }
    return { slots, specs };
  };
  const stops = (targets: string[], services: ReturnType<typeof all>) => planStops(targets, services.slots, services.specs, dependents);

  test('on one host every stop is sent at once, each naming the dependents its host waits out', () => {
    expect(stops(Object.keys(deps), all(() => 'local'))).toEqual([
      { service: 'gateway', after: [] },
      { service: 'api', after: ['gateway'] },
      { service: 'worker', after: [] },
      { service: 'db', after: ['api', 'worker'] },
    ]);
  });

  test('a dependent on another host is waited for until its workflow finished', () => {
    const host = (name: string) => (name === 'worker' ? 'b' : 'local');
    expect(stops(Object.keys(deps), all(host)).map((o) => o.service)).toEqual(['gateway', 'api', 'worker']);
    const workerDone = all(host, { worker: { finished: true } });
    expect(stops(Object.keys(deps), workerDone)).toContainEqual({ service: 'db', after: ['api'] });
  });

  test('dependents outside the targets keep running and are not waited for; sent and finished stops are not repeated', () => {
    expect(stops(['db'], all(() => 'local'))).toEqual([{ service: 'db', after: [] }]);
    const sent = all(() => 'local', { gateway: { stopSent: true }, api: { finished: true } });
    expect(stops(Object.keys(deps), sent)).toEqual([
      { service: 'worker', after: [] },
      { service: 'db', after: ['worker'] },
    ]);
  });

  test('a service is not stopped before a dependent among the targets has started', () => {
    const notYet = all(() => 'local', { api: { started: false } });
    expect(stops(Object.keys(deps), notYet).map((o) => o.service)).toEqual(['gateway', 'worker']);
  });
});
