// Operator controls: the dependency-wait deadline and the shutdown budget.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { fixtureStack, readTimeline, stackProcesses, startWorld, type TestWorld } from '../support/harness.js';

let world: TestWorld;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.stop();
});

const noop = () => undefined;

describe('dependency-wait deadline', () => {
  test('a dependent that waits past depends_on.<dep>.timeout is blocked with the reason; the dependency keeps trying', async () => {
    const { spec } = await fixtureStack(world, {
      slow: { readyDelayMs: 20_000, health: { ready_timeout: '30s' } },
      gateway: { extra: { depends_on: { slow: { condition: 'healthy', timeout: '1s' } } } },
    });
    await world.stacks.start(spec, []);
    const settled = await watchUntilSettled(world.stacks, spec.name, ['gateway'], noop);
    expect(settled.services.gateway.state).toBe('blocked');
    expect(settled.services.gateway.error).toMatch(/^gateway waited [12]s for slow healthy: it is starting \(GET http:\/\/127\.0\.0\.1:\d+\/health\)$/);
    expect(settled.services.slow.state).toBe('starting');
    expect(settled.state).toBe('degraded');
    await world.stacks.shutdown(spec.name, 'test');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });
});

describe('shutdown budget', () => {
  test('services still stopping when the budget is spent are named and SIGKILLed', async () => {
    const { spec, timeline } = await fixtureStack(world, {
      stubborn: { env: { IGNORE_SIGTERM: '1' }, extra: { shutdown: { timeout: '60s' } } },
      polite: {},
    });
    await world.stacks.start(spec, []);
    await watchUntilSettled(world.stacks, spec.name, ['stubborn', 'polite'], noop);
    const started = Date.now();
    const final = await world.stacks.shutdown(spec.name, 'test', 1000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(20_000);
    expect(final?.services.stubborn.state).toBe('stopped');
    expect(final?.services.stubborn.error).toMatch(/drain budget of 1000ms spent: killed/);
    expect(final?.services.polite.error).toBeNull();
    expect((await readTimeline(timeline)).some((e) => e.service === 'stubborn' && e.event === 'term')).toBe(true);
    expect(await stackProcesses(spec.name)).toEqual([]);
  });
});

describe('reload (applyConfig)', () => {
  test('starts added, stops removed and restarts changed services, leaving the others untouched', async () => {
    const { spec } = await fixtureStack(world, {
      db: {},
      api: { dependsOn: { db: 'healthy' } },
      cache: {},
      old: {},
    });
    await world.stacks.start(spec, []);
    const before = await watchUntilSettled(world.stacks, spec.name, Object.keys(spec.services), noop);

    const { spec: extra } = await fixtureStack(world, { fresh: {} });
    const { old: _old, ...kept } = spec.services;
    const next = {
      ...spec,
      services: {
        ...kept,
        api: { ...spec.services.api, env: { ...spec.services.api.env, FEATURE_FLAG: 'on' } },
        fresh: { ...extra.services.fresh, env: { ...extra.services.fresh.env, STACKFLOW_STACK: spec.name } },
      },
    };
    const plan = await world.stacks.reload(next);
    expect(plan).toEqual({ added: ['fresh'], removed: ['old'], changed: ['api'], unchanged: ['cache', 'db'] });

    const after = await world.stacks.status(spec.name);
    expect(Object.keys(after!.services).sort()).toEqual(['api', 'cache', 'db', 'fresh']);
    expect(after!.services.db.pid).toBe(before.services.db.pid);
    expect(after!.services.cache.pid).toBe(before.services.cache.pid);
    expect(after!.services.api.pid).not.toBe(before.services.api.pid);
    expect(after!.services.api.state).toBe('healthy');
    expect(after!.services.fresh.state).toBe('healthy');
    expect(await stackProcesses(spec.name)).not.toContain(before.services.old.pid);

    await world.stacks.shutdown(spec.name, 'test');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });
});

describe('subsets', () => {
  test('up of some services starts them and what they need; a later up adds to the running stack', async () => {
    const { spec, timeline } = await fixtureStack(world, {
      db: {},
      api: { dependsOn: { db: 'healthy' } },
      other: {},
    });
    await world.stacks.start(spec, ['db', 'api']);
    const first = await watchUntilSettled(world.stacks, spec.name, ['db', 'api'], noop);
    expect(Object.keys(first.services).sort()).toEqual(['api', 'db']);

    const { started, added } = await world.stacks.start(spec, ['other']);
    expect(started).toBe(false);
    expect(added).toEqual(['other']);
    const second = await watchUntilSettled(world.stacks, spec.name, ['db', 'api', 'other'], noop);
    expect(second.services.other.state).toBe('healthy');
    expect(second.services.db.pid).toBe(first.services.db.pid);
    expect((await readTimeline(timeline)).filter((e) => e.event === 'spawn')).toHaveLength(3);
    await world.stacks.shutdown(spec.name, 'test');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });
});
