// A second worker without the key (issue 12): the activities it picks up fail with a message naming
// the key id they need, nothing is started by it (the service fails, saying why), and once a worker
// with the key serves that host, a restart starts the service exactly once.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { keyId } from '../../src/codec/index.js';
import { serviceWorkflowId } from '../../src/workflows/definitions.js';
import { fixtureStack, readTimeline, stackProcesses, startWorld, type TestWorld } from '../support/harness.js';
import { testTemporalAddress } from '../support/temporal-server.js';
import { killAllWorkerProcesses, pollUntil, startWorkerProcess } from '../support/worker-process.js';

let world: TestWorld;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.stop();
  await killAllWorkerProcesses();
});

const runKeyId = () => keyId(Buffer.from(process.env.STACKFLOW_ENCRYPTION_KEY as string, 'base64'));

describe('a worker without the encryption key', () => {
  test('fails the activities it gets with the key id they need and starts nothing; with the key, a restart starts the service once', async () => {
    const { spec, timeline } = await fixtureStack(world, {
      a: {},
      b: { extra: { host: 'edge' } },
    });
    // No STACKFLOW_ENCRYPTION_KEY and an empty config directory: no key at all.
    const emptyConfig = await mkdtemp(join(tmpdir(), 'stackflow-nokey-'));
    const keyless = await startWorkerProcess({
      address: testTemporalAddress(),
      taskQueue: world.taskQueue,
      host: 'edge',
      env: { STACKFLOW_ENCRYPTION_KEY: '', XDG_CONFIG_HOME: emptyConfig },
    });
    expect(keyless.output()).toContain('no encryption key');

    await world.stacks.start(spec, []);
    const needed = `this history is encrypted with key ${runKeyId()}, which this process does not have`;
    // The failure as the server keeps it (the pending activity's last failure), and in the worker's log.
    const lastFailure = await pollUntil('the keyless worker to fail spawnService', async () => {
      const description = await world.stacks.client.workflow.getHandle(serviceWorkflowId(spec.name, 'b')).describe();
      const failure = description.raw.pendingActivities?.[0]?.lastFailure;
      if (!failure) return undefined;
      // Its message travels in encodedAttributes, in clear: a worker without the key seals nothing.
      return Buffer.from(failure.encodedAttributes?.data ?? new Uint8Array()).toString('utf8');
    });
    expect(lastFailure).toContain('Failed to parse activity args for activity spawnService');
    expect(lastFailure).toContain(needed);
    expect(keyless.output()).toContain(needed);

    // With only that worker for its host, b gives up after its restarts, saying why; it never ran.
    const settled = await watchUntilSettled(world.stacks, spec.name, ['a', 'b'], () => undefined);
    expect(settled.services.a.state).toBe('healthy');
    expect(settled.services.b).toMatchObject({ state: 'failed', pid: null });
    expect((await readTimeline(timeline)).filter((e) => e.service === 'b')).toEqual([]);
    expect(await stackProcesses(spec.name)).toEqual([settled.services.a.pid]);

    // The host gets a worker with the key: a restart brings b up, started once.
    await keyless.stop();
    await startWorkerProcess({ address: testTemporalAddress(), taskQueue: world.taskQueue, host: 'edge' });
    await world.stacks.restart(spec.name, 'b');
    const after = await world.stacks.status(spec.name);
    expect(after?.services.b.state).toBe('healthy');
    expect((await readTimeline(timeline)).filter((e) => e.service === 'b' && e.event === 'spawn')).toHaveLength(1);
    expect((await stackProcesses(spec.name)).sort()).toEqual([after?.services.a.pid, after?.services.b.pid].sort());
  }, 120_000);
});
