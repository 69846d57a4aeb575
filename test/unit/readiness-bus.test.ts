// The host's readiness bus (src/host/readiness-bus.ts) with real records and processes.
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { GateSuperseded, ReadinessBus } from '../../src/host/readiness-bus.js';
import { ProcessManager } from '../../src/process/manager.js';
import { ProcessGroups, serviceSpec, tempDir } from '../fixtures/proc/helpers.js';

const groups = new ProcessGroups();
let dir: { path: string; remove: () => Promise<void> };
let bus: ReadinessBus;

beforeEach(async () => {
  dir = await tempDir();
  bus = new ReadinessBus();
});
afterEach(async () => {
  groups.killAll();
  await dir.remove();
});

/** Resolves to `true` once `promise` settles, `false` while it is pending (after the queued events ran). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('ReadinessBus', () => {
  test('a gate opens the instant the last condition holds, and only for the conditions asked', async () => {
    const gates = [
      { service: 'db', condition: 'healthy' as const },
      { service: 'job', condition: 'completed_successfully' as const },
    ];
    const open = bus.waitForDependencies(dir.path, gates, new AbortController().signal);
    bus.publish(dir.path, 'db', 'started', 10);
    bus.publish(dir.path, 'job', 'completed', 11);
    expect(await settled(open)).toBe(false);
    bus.publish(dir.path, 'db', 'healthy', 10);
    expect(await settled(open)).toBe(true);
    expect(bus.met(dir.path, [{ service: 'db', condition: 'started' }])).toBe(true);
    expect(bus.met('/other/stack', [{ service: 'db', condition: 'started' }])).toBe(false);
  });

  test('facts about a stale pid do not meet a gate', () => {
    bus.publish(dir.path, 'db', 'healthy', 41);
    expect(bus.met(dir.path, [{ service: 'db', condition: 'healthy', stalePid: 41 }])).toBe(false);
    bus.publish(dir.path, 'db', 'healthy', 42);
    expect(bus.met(dir.path, [{ service: 'db', condition: 'healthy', stalePid: 41 }])).toBe(true);
  });

  test('a later spawn or a stop supersedes a spawn waiting at its gate', async () => {
    const first = bus.runSpawn(dir.path, 'api', (signal) => bus.waitForDependencies(dir.path, [{ service: 'db', condition: 'healthy' }], signal));
    const second = bus.runSpawn(dir.path, 'api', async () => 'spawned');
    await expect(first).rejects.toBeInstanceOf(GateSuperseded);
    await expect(second).resolves.toBe('spawned');
  });

  test('a stop waiting for its dependents ends when their recorded processes are gone', async () => {
    const manager = new ProcessManager(dir.path);
    const { record } = await manager.spawn(serviceSpec('api', ['sleep', '30']));
    groups.add(record.pgid);
    const gone = bus.waitForStopped(dir.path, ['api', 'never-started'], new AbortController().signal);
    expect(await settled(gone)).toBe(false);
    await manager.stop(record, { signal: 'SIGTERM', timeoutMs: 2000 });
    bus.publish(dir.path, 'api', 'stopped');
    await gone;
  });

  test('a spawn under way counts as a process for a waiting stop', async () => {
    bus.publish(dir.path, 'api', 'spawning');
    const gone = bus.waitForStopped(dir.path, ['api'], new AbortController().signal);
    expect(await settled(gone)).toBe(false);
    bus.publish(dir.path, 'api', 'stopped');
    await gone;
  });
});
