// A second worker without the key (issue 12): the tasks it picks up fail with a message naming the
// key id they need, nothing is started by it, and once a worker with the key serves that host, the
// service starts there exactly once.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  test('fails the tasks it gets with the key id they need and starts nothing; a worker with the key then starts the service once', async () => {
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
    // Service workflows run on their host's queue beside their activities (docs/architecture.md):
    // the keyless worker is handed b's workflow task and fails it, naming the key, as the history keeps it.
    const failure = await pollUntil('the keyless worker to fail the workflow task of b', async () => {
      const history = await world.stacks.client.workflow.getHandle(serviceWorkflowId(spec.name, 'b')).fetchHistory();
      const failed = history.events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes?.failure;
      if (!failed) return undefined;
      // Its message travels in encodedAttributes, in clear: a worker without the key seals nothing.
      return Buffer.from(failed.encodedAttributes?.data ?? new Uint8Array()).toString('utf8');
    });
    expect(failure).toContain(needed);
    // The worker's log has it too, once the SDK has flushed its lines (it holds them ~100 ms to order them).
    await pollUntil('the keyless worker to log the key it needs', () => keyless.output().includes(needed), { timeoutMs: 5_000 });

    // Nothing of b ran while only that worker served its host; a is healthy on the keyed worker.
    const waiting = await pollUntil('a healthy', async () => {
      const s = await world.stacks.status(spec.name);
      return s?.services.a.state === 'healthy' ? s : undefined;
    });
    expect(waiting.services.b).toMatchObject({ pid: null });
    expect((await readTimeline(timeline)).filter((e) => e.service === 'b')).toEqual([]);
    expect(await stackProcesses(spec.name)).toEqual([waiting.services.a.pid]);

    // The host gets a worker with the key: b's workflow goes on there and starts b, once.
    await keyless.stop();
    await startWorkerProcess({ address: testTemporalAddress(), taskQueue: world.taskQueue, host: 'edge' });
    const after = await pollUntil(
      'b healthy on the worker with the key',
      async () => {
        const s = await world.stacks.status(spec.name);
        return s?.services.b.state === 'healthy' ? s : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect((await readTimeline(timeline)).filter((e) => e.service === 'b' && e.event === 'spawn')).toHaveLength(1);
    expect((await stackProcesses(spec.name)).sort()).toEqual([after.services.a.pid, after.services.b.pid].sort());
  }, 120_000);
});
