// Restarts on demand (the restartService update), with and without dependents, and a service
// workflow that continues as new under a low history limit without losing its count.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { restartServiceUpdate, serviceWorkflowId } from '../../src/workflows/definitions.js';
import { fixtureStack, readTimeline, stackProcesses, startWorld, type TestWorld, type TimelineEvent } from '../support/harness.js';

let world: TestWorld;
beforeAll(async () => {
  world = await startWorld({ maxHistoryEvents: 60 });
});
afterAll(async () => {
  await world.stop();
});

const noop = () => undefined;
const times = (events: TimelineEvent[], service: string, event: TimelineEvent['event']) =>
  events.filter((e) => e.service === service && e.event === event).map((e) => e.t);

describe('restartService', () => {
  test('restarts one service and answers once it is healthy again; its dependents keep running', async () => {
    const { spec, timeline } = await fixtureStack(world, {
      db: { readyDelayMs: 100 },
      api: { dependsOn: { db: 'healthy' } },
    });
    await world.stacks.start(spec, []);
    const before = await watchUntilSettled(world.stacks, spec.name, ['db', 'api'], noop);

    await world.stacks.restart(spec.name, 'db');
    const after = await world.stacks.status(spec.name);
    expect(after?.services.db.state).toBe('healthy');
    // Asked for, not a crash: counted apart.
    expect(after?.services.db).toMatchObject({ restarts: 0, manualRestarts: 1 });
    expect(after?.services.db.pid).not.toBe(before.services.db.pid);
    expect(after?.services.api.pid).toBe(before.services.api.pid);
    const events = await readTimeline(timeline);
    expect(times(events, 'db', 'spawn')).toHaveLength(2);
    expect(times(events, 'api', 'spawn')).toHaveLength(1);

    await world.stacks.shutdown(spec.name, 'test');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });

  test('--with-dependents stops dependents first, restarts the service, then brings them back in order', async () => {
    const { spec, timeline } = await fixtureStack(world, {
      db: { readyDelayMs: 100 },
      api: { dependsOn: { db: 'healthy' } },
      web: { dependsOn: { api: 'healthy' } },
      other: {},
    });
    await world.stacks.start(spec, []);
    const before = await watchUntilSettled(world.stacks, spec.name, Object.keys(spec.services), noop);

    await world.stacks.restart(spec.name, 'db', true);
    const after = await watchUntilSettled(world.stacks, spec.name, Object.keys(spec.services), noop);
    for (const name of ['db', 'api', 'web']) {
      expect(after.services[name].state).toBe('healthy');
      expect(after.services[name].pid).not.toBe(before.services[name].pid);
    }
    expect(after.services.other.pid).toBe(before.services.other.pid);

    const events = await readTimeline(timeline);
    const [webTerm] = times(events, 'web', 'term');
    const [apiTerm] = times(events, 'api', 'term');
    const [dbTerm] = times(events, 'db', 'term');
    expect(webTerm).toBeLessThan(apiTerm);
    expect(apiTerm).toBeLessThan(dbTerm);
    const dbReadyAgain = times(events, 'db', 'ready')[1];
    const apiSpawnAgain = times(events, 'api', 'spawn')[1];
    const apiReadyAgain = times(events, 'api', 'ready')[1];
    const webSpawnAgain = times(events, 'web', 'spawn')[1];
    expect(apiSpawnAgain).toBeGreaterThanOrEqual(dbReadyAgain);
    expect(webSpawnAgain).toBeGreaterThanOrEqual(apiReadyAgain);

    await world.stacks.shutdown(spec.name, 'test');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });

  test('an unknown service is rejected by the validator and nothing changes', async () => {
    const { spec } = await fixtureStack(world, { db: {} });
    await world.stacks.start(spec, []);
    const before = await watchUntilSettled(world.stacks, spec.name, ['db'], noop);
    const failure = await world.stacks.restart(spec.name, 'dbb').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((failure as WorkflowUpdateFailedError).cause?.message).toMatch(/unknown service "dbb"/);
    const history = await world.stacks.handle(spec.name).fetchHistory();
    const updates = history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
    expect(updates).toHaveLength(0);
    expect((await world.stacks.status(spec.name))?.services.db.pid).toBe(before.services.db.pid);
    await world.stacks.shutdown(spec.name, 'test');
  });
});

describe('continue-as-new', () => {
  test('service and stack workflows continue as new past their history limit and keep counting', async () => {
    const { spec } = await fixtureStack(world, {
      flappy: { extra: { restart: { policy: 'always', max_restarts: 100, backoff: { initial: '10ms', max: '10ms' } } } },
    });
    await world.stacks.start(spec, []);
    await watchUntilSettled(world.stacks, spec.name, ['flappy'], noop);
    for (let i = 0; i < 4; i++) {
      await world.stacks.handle(spec.name).executeUpdate(restartServiceUpdate, { args: [{ service: 'flappy' }] });
    }
    const status = await world.stacks.status(spec.name);
    expect(status?.services.flappy).toMatchObject({ state: 'healthy', restarts: 0, manualRestarts: 4 });
    const child = world.stacks.client.workflow.getHandle(serviceWorkflowId(spec.name, 'flappy'));
    const description = await child.describe();
    const firstRunId = description.raw.workflowExecutionInfo?.firstRunId;
    expect(firstRunId).toEqual(expect.any(String));
    expect(description.runId).not.toBe(firstRunId);
    // The stack workflow, with its many reports, continued as new too, and still drains.
    const stackRun = (await world.stacks.handle(spec.name).describe()).raw.workflowExecutionInfo;
    expect(stackRun?.execution?.runId).not.toBe(stackRun?.firstRunId);
    const final = await world.stacks.shutdown(spec.name, 'test');
    expect(final?.services.flappy.state).toBe('stopped');
    expect(final?.services.flappy).toMatchObject({ restarts: 0, manualRestarts: 4 });
    expect(await stackProcesses(spec.name)).toEqual([]);
  });
});
