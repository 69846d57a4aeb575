// The core lifecycle against a real dev server and real processes: dependency order, parallel
// starts, conditions, failures, reverse drain, shutdown during startup.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { mkdir, rm } from 'node:fs/promises';
import { readStat } from '../../src/process/proc.js';
import { readRecord } from '../../src/process/record.js';
import { fixtureStack, firstTime, readTimeline, stackProcesses, startWorld, type TestWorld } from '../support/harness.js';

let world: TestWorld;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.stop();
});

const noop = () => undefined;

describe('a stack of fixture services', () => {
  test('starts in dependency order, in parallel where it can, and drains in reverse', async () => {
    const { spec, timeline } = await fixtureStack(world, {
      // Long enough that on a loaded machine the other one's spawn still falls inside it (overlap).
      db: { readyDelayMs: 1500 },
      cache: { readyDelayMs: 1500 },
      migrate: { port: false, env: { EXIT_AFTER_MS: '150', EXIT_CODE: '0' }, extra: { restart: { policy: 'never' } } },
      api: { readyDelayMs: 100, dependsOn: { db: 'healthy', migrate: 'completed_successfully' } },
      worker: { readyDelayMs: 100, dependsOn: { db: 'healthy', cache: 'healthy' } },
      gateway: { dependsOn: { api: 'healthy', worker: 'healthy' } },
    });
    const names = Object.keys(spec.services);
    await world.stacks.start(spec, []);
    const settled = await watchUntilSettled(world.stacks, spec.name, names, noop);
    expect(Object.fromEntries(names.map((n) => [n, settled.services[n].state]))).toEqual({
      db: 'healthy',
      cache: 'healthy',
      migrate: 'completed',
      api: 'healthy',
      worker: 'healthy',
      gateway: 'healthy',
    });
    expect(settled.state).toBe('running');

    const events = await readTimeline(timeline);
    const spawn = (s: string) => firstTime(events, s, 'spawn');
    const ready = (s: string) => firstTime(events, s, 'ready');
    // Every service starts only after its dependencies met their condition...
    expect(spawn('api')).toBeGreaterThanOrEqual(ready('db'));
    expect(spawn('api')).toBeGreaterThanOrEqual(firstTime(events, 'migrate', 'exit'));
    expect(events.filter((e) => e.service === 'migrate' && e.event === 'spawn')).toHaveLength(1);
    expect(spawn('worker')).toBeGreaterThanOrEqual(Math.max(ready('db'), ready('cache')));
    expect(spawn('gateway')).toBeGreaterThanOrEqual(Math.max(ready('api'), ready('worker')));
    // ...and independent services overlap instead of waiting for each other.
    expect(spawn('cache')).toBeLessThan(ready('db'));
    expect(spawn('db')).toBeLessThan(ready('cache'));

    const registry = JSON.parse(
      await import('node:fs/promises').then((fs) => fs.readFile(`${spec.home}/${spec.name}/registry.json`, 'utf8')),
    );
    expect(Object.keys(registry).sort()).toEqual(['api', 'cache', 'db', 'gateway', 'worker']);
    expect(registry.db.port).toBe(spec.services.db.port);

    const final = await world.stacks.shutdown(spec.name, 'test');
    expect(final?.state).toBe('stopped');
    const after = await readTimeline(timeline);
    const term = (s: string) => firstTime(after, s, 'term');
    expect(term('gateway')).toBeLessThan(Math.min(term('api'), term('worker')));
    expect(term('api')).toBeLessThan(term('db'));
    expect(term('worker')).toBeLessThan(Math.min(term('db'), term('cache')));
    expect(await stackProcesses(spec.name)).toEqual([]);
    expect(await readRecord(`${spec.home}/${spec.name}`, 'db')).toBeUndefined();
  });

  test('a service that never becomes healthy fails with its reason; its dependents are blocked, the rest stays up', async () => {
    const { spec } = await fixtureStack(world, {
      ok: {},
      sick: {
        env: { HEALTH_STATUS: '503' },
        health: { interval: '100ms', ready_timeout: '1s' },
        extra: { restart: { policy: 'never' } },
      },
      needsSick: { dependsOn: { sick: 'healthy' } },
    });
    const names = Object.keys(spec.services);
    await world.stacks.start(spec, []);
    const settled = await watchUntilSettled(world.stacks, spec.name, names, noop);
    expect(settled.services.ok.state).toBe('healthy');
    expect(settled.services.sick.state).toBe('failed');
    expect(settled.services.sick.error).toMatch(/503/);
    expect(settled.services.needsSick.state).toBe('blocked');
    expect(settled.services.needsSick.error).toMatch(/sick/);
    expect(settled.state).toBe('degraded');

    await world.stacks.shutdown(spec.name, 'test');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });

  test('a shutdown during startup cancels pending starts and drains what runs', async () => {
    const { spec, timeline } = await fixtureStack(world, {
      slow: { readyDelayMs: 5000 },
      after: { dependsOn: { slow: 'healthy' } },
    });
    await world.stacks.start(spec, []);
    await watchUntilSettled(world.stacks, spec.name, [], noop);
    // Wait for the slow service to be spawned, then shut down while it is still starting.
    for (;;) {
      const status = await world.stacks.status(spec.name);
      if (status?.services.slow.pid) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const final = await world.stacks.shutdown(spec.name, 'test');
    expect(final?.state).toBe('stopped');
    expect(final?.services.after.state).toBe('stopped');
    const events = await readTimeline(timeline);
    expect(events.filter((e) => e.service === 'after')).toEqual([]);
    expect(events.some((e) => e.service === 'slow' && e.event === 'ready')).toBe(false);
    expect(await stackProcesses(spec.name)).toEqual([]);
  });

  test('a registry that cannot be written never holds up a stop: the process is stopped, then the failure reported', async () => {
    const { spec } = await fixtureStack(world, { api: {} });
    await world.stacks.start(spec, []);
    const settled = await watchUntilSettled(world.stacks, spec.name, ['api'], noop);
    const pid = settled.services.api.pid!;
    // registry.json becomes a directory: every read and write of it fails (whoever runs the test).
    const registryFile = `${spec.home}/${spec.name}/registry.json`;
    await rm(registryFile);
    await mkdir(registryFile);

    const final = await world.stacks.shutdown(spec.name, 'test');
    expect(final?.services.api.state).toBe('stopped');
    expect(final?.services.api.error).toMatch(/registry\.json not updated: .*EISDIR/);
    expect(await stackProcesses(spec.name)).toEqual([]);
    expect(readStat(pid)).toBeNull();
    expect(await readRecord(`${spec.home}/${spec.name}`, 'api')).toBeUndefined();
  });
});
