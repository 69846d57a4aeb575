// Durable recovery with the worker as a separate OS process: SIGKILLed in steady state, during
// startup and during the drain, a new worker adopts the running services (never a second copy);
// a Temporal server restart loses nothing; and a record pointing at a foreign process never gets
// that process signalled.
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { Client, Connection } from '@temporalio/client';
import { StackClient } from '../../src/client.js';
import { watchUntilSettled } from '../../src/cli/progress.js';
import type { StackSpec } from '../../src/model.js';
import { readStat } from '../../src/process/proc.js';
import { readRecord, recordFile } from '../../src/process/record.js';
import { connectClient } from '../../src/temporal/connection.js';
import { findFreePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { resolveTemporalCli } from '../../src/temporal/cli-binary.js';
import { serviceWorkflowId, shutdownSignal } from '../../src/workflows/definitions.js';
import { DEFAULT_TUNING } from '../../src/workflows/service.js';
import { firstTime, fixtureStack, forceCleanUp, readTimeline, stackProcesses, type TestWorld } from '../support/harness.js';
import { connectTestClient, testDataConverter, testTemporalAddress } from '../support/temporal-server.js';
import {
  isLive,
  killAllWorkerProcesses,
  pendingActivity,
  pollUntil,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/worker-process.js';

const HEARTBEAT_TIMEOUT_MS = 2000;
const noop = () => undefined;

let client: Client;
let connection: Connection;
beforeAll(async () => {
  ({ client, connection } = await connectTestClient());
});
afterAll(async () => {
  await killAllWorkerProcesses();
  await connection.close();
});

/** What each test cleans up even when it fails: stacks left running, their processes, its own extra processes. */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (err) {
      console.warn(`cleanup failed: ${String(err)}`);
    }
  }
  await killAllWorkerProcesses();
});

/** A client on a task queue of its own (like startWorld) but no in-process worker: workers are OS processes here. */
async function recoveryWorld(temporalClient = client, address = testTemporalAddress()) {
  const taskQueue = `test-${randomUUID()}`;
  const dir = await mkdtemp(join(tmpdir(), 'stackflow-recovery-'));
  const stacks = new StackClient(temporalClient, taskQueue, { ...DEFAULT_TUNING, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
  const world: TestWorld = { stacks, taskQueue, dir, fixtures: [], codecEndpoint: null, stop: async () => undefined };
  return { world, stacks, taskQueue, dir, startWorker: () => startWorkerProcess({ address, taskQueue }) };
}

/** Whatever happens in the test: terminate the stack's workflows and SIGKILL what it left running. */
function cleanUpStack(stacks: StackClient, spec: StackSpec): void {
  cleanups.push(() => forceCleanUp(stacks, spec));
}

async function pidsOf(stacks: StackClient, spec: StackSpec): Promise<Record<string, number>> {
  const status = await stacks.status(spec.name);
  return Object.fromEntries(Object.entries(status!.services).map(([name, s]) => [name, s.pid!]));
}

async function spawnsOf(timeline: string, name: string): Promise<number[]> {
  return (await readTimeline(timeline)).filter((e) => e.service === name && e.event === 'spawn').map((e) => e.pid);
}

/** Resolves once the pending activity of every service is `activity`, started by `worker`. */
async function activitiesOn(
  temporalClient: Client,
  spec: StackSpec,
  activity: string,
  worker: WorkerProcess,
  timeoutMs = 20_000,
): Promise<void> {
  await pollUntil(
    `${activity} of ${Object.keys(spec.services).join(', ')} to run on worker ${worker.identity}`,
    async () => {
      for (const name of Object.keys(spec.services)) {
        const pending = await pendingActivity(temporalClient, serviceWorkflowId(spec.name, name));
        if (!pending || pending.type !== activity || !pending.started || pending.worker !== worker.identity) return false;
      }
      return true;
    },
    { timeoutMs, everyMs: 25 },
  );
}

describe('worker crash', () => {
  test('SIGKILL in steady state: services keep running, a new worker adopts them and supervision resumes', async () => {
    const { world, stacks, startWorker } = await recoveryWorld();
    const first = await startWorker();
    const { spec, timeline } = await fixtureStack(world, { db: {}, api: { dependsOn: { db: 'healthy' } } });
    cleanUpStack(stacks, spec);
    await stacks.start(spec, []);
    const settled = await watchUntilSettled(stacks, spec.name, ['db', 'api'], noop);
    expect(settled.services.db.state).toBe('healthy');
    expect(settled.services.api.state).toBe('healthy');
    const pids = await pidsOf(stacks, spec);
    await activitiesOn(client, spec, 'superviseService', first);

    await first.crash();
    const killedAt = Date.now();
    // Detached, logging to files: the worker's death is nothing to them.
    expect(isLive(pids.db) && isLive(pids.api)).toBe(true);

    const second = await startWorker();
    await activitiesOn(client, spec, 'superviseService', second);
    const backAt = Date.now();
    console.log(
      `supervision taken over ${backAt - killedAt} ms after the worker was killed ` +
        `(${backAt - second.startedAt} ms after the new worker was started, ${backAt - second.readyAt} ms after it was ready; ` +
        `bound: heartbeatTimeout ${HEARTBEAT_TIMEOUT_MS} ms + first retry interval 200 ms)`,
    );

    // Adopted, not respawned: same pids, one process per service, one spawn each in the timeline.
    const status = await pollUntil('the status query to answer', () => stacks.status(spec.name));
    // A query is first offered to the dead worker's sticky queue: it answers only once the server gives up on that.
    console.log(`status query answered ${Date.now() - backAt} ms after the takeover (${Date.now() - killedAt} ms after the kill)`);
    expect(status?.services.db).toMatchObject({ state: 'healthy', pid: pids.db, restarts: 0 });
    expect(status?.services.api).toMatchObject({ state: 'healthy', pid: pids.api, restarts: 0 });
    expect((await stackProcesses(spec.name)).sort()).toEqual([pids.db, pids.api].sort());
    expect(await spawnsOf(timeline, 'db')).toEqual([pids.db]);
    expect(await spawnsOf(timeline, 'api')).toEqual([pids.api]);

    // Supervision really is back: a crash of the adopted db is seen and restarted by the new worker.
    process.kill(pids.db, 'SIGKILL');
    const crashedAt = Date.now();
    const db = await pollUntil(
      'db to be restarted by the new worker',
      async () => {
        const s = (await stacks.status(spec.name))?.services.db;
        return s?.state === 'healthy' && s.pid !== pids.db ? s : undefined;
      },
      { timeoutMs: 15_000 },
    );
    console.log(`adopted db killed -> healthy again under the new worker: ${Date.now() - crashedAt} ms`);
    expect(db.restarts).toBe(1);
    // Not our child any more: the exit status went to init, only the fact of the exit is known.
    expect(db.lastExit).toMatchObject({ code: null, signal: null });
    expect((await stacks.status(spec.name))?.services.api).toMatchObject({ state: 'healthy', pid: pids.api });
    expect((await stackProcesses(spec.name)).sort()).toEqual([db.pid, pids.api].sort());

    const final = await stacks.shutdown(spec.name, 'test');
    expect(final?.state).toBe('stopped');
    expect(await stackProcesses(spec.name)).toEqual([]);
    expect(await readRecord(`${spec.home}/${spec.name}`, 'db')).toBeUndefined();
    expect(await readRecord(`${spec.home}/${spec.name}`, 'api')).toBeUndefined();
    await second.stop();
  });

  test('a service that dies while no worker runs is restarted by the next worker; the others are adopted', async () => {
    const { world, stacks, startWorker } = await recoveryWorld();
    const first = await startWorker();
    const { spec, timeline } = await fixtureStack(world, { db: {}, api: {} });
    cleanUpStack(stacks, spec);
    await stacks.start(spec, []);
    await watchUntilSettled(stacks, spec.name, ['db', 'api'], noop);
    const pids = await pidsOf(stacks, spec);
    await activitiesOn(client, spec, 'superviseService', first);

    await first.crash();
    process.kill(pids.api, 'SIGKILL');
    await pollUntil('api to be gone', () => !isLive(pids.api));

    await startWorker();
    const status = await pollUntil(
      'api to be restarted by the new worker',
      async () => {
        const s = await stacks.status(spec.name);
        return s?.services.api.state === 'healthy' && s.services.api.pid !== pids.api ? s : undefined;
      },
      { timeoutMs: 30_000 },
    );
    // The record whose process is gone counts as a crash (its exit status went to init, not to us).
    expect(status.services.api.restarts).toBe(1);
    expect(status.services.db).toMatchObject({ state: 'healthy', pid: pids.db, restarts: 0 });
    expect(await spawnsOf(timeline, 'api')).toEqual([pids.api, status.services.api.pid]);
    expect(await spawnsOf(timeline, 'db')).toEqual([pids.db]);
    expect((await stackProcesses(spec.name)).sort()).toEqual([pids.db, status.services.api.pid].sort());

    const final = await stacks.shutdown(spec.name, 'test');
    expect(final?.state).toBe('stopped');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });

  test('SIGKILL during startup: the new worker finishes the start without a second copy', async () => {
    const { world, stacks, startWorker } = await recoveryWorld();
    const first = await startWorker();
    const { spec, timeline } = await fixtureStack(world, {
      slow: { readyDelayMs: 2500 },
      after: { dependsOn: { slow: 'healthy' } },
    });
    cleanUpStack(stacks, spec);
    await stacks.start(spec, []);
    // slow is spawned and its readiness is being awaited on the first worker.
    await pollUntil('slow to be awaited healthy on the first worker', async () => {
      const pending = await pendingActivity(client, serviceWorkflowId(spec.name, 'slow'));
      return pending?.type === 'awaitHealthy' && pending.started && pending.worker === first.identity;
    });
    const slowPid = (await readRecord(`${spec.home}/${spec.name}`, 'slow'))!.pid;
    await first.crash();
    expect((await readTimeline(timeline)).some((e) => e.event === 'ready')).toBe(false);

    const killedAt = Date.now();
    await startWorker();
    const settled = await watchUntilSettled(stacks, spec.name, ['slow', 'after'], noop);
    console.log(`worker killed mid-start -> slow and its dependent healthy: ${Date.now() - killedAt} ms`);
    expect(settled.services.slow).toMatchObject({ state: 'healthy', pid: slowPid, restarts: 0 });
    expect(settled.services.after.state).toBe('healthy');
    expect(await spawnsOf(timeline, 'slow')).toEqual([slowPid]);
    expect(await spawnsOf(timeline, 'after')).toHaveLength(1);
    expect((await stackProcesses(spec.name)).sort()).toEqual([slowPid, settled.services.after.pid].sort());

    const final = await stacks.shutdown(spec.name, 'test');
    expect(final?.state).toBe('stopped');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });

  test('SIGKILL while a start waits at its host gate: the new worker, its bus empty, is released by the stack', async () => {
    const { world, stacks, startWorker } = await recoveryWorld();
    const first = await startWorker();
    const { spec, timeline } = await fixtureStack(world, {
      job: { port: false, env: { EXIT_AFTER_MS: '100', EXIT_CODE: '0' }, extra: { restart: { policy: 'never' } } },
      slow: { readyDelayMs: 2500 },
      after: { dependsOn: { job: 'completed_successfully', slow: 'healthy' } },
    });
    cleanUpStack(stacks, spec);
    await stacks.start(spec, []);
    // job has completed (a fact only the first worker's bus held); after's spawn waits at its gate for slow.
    await pollUntil('job completed and after gated on the first worker', async () => {
      const status = await stacks.status(spec.name);
      const pending = await pendingActivity(client, serviceWorkflowId(spec.name, 'after'));
      return status?.services.job.state === 'completed' && pending?.type === 'spawnService' && pending.started && pending.worker === first.identity;
    });
    await first.crash();
    expect((await readTimeline(timeline)).some((e) => e.service === 'after')).toBe(false);

    await startWorker();
    const settled = await watchUntilSettled(stacks, spec.name, ['job', 'slow', 'after'], noop);
    expect(settled.services.after.state).toBe('healthy');
    const events = await readTimeline(timeline);
    expect(await spawnsOf(timeline, 'after')).toHaveLength(1);
    expect(firstTime(events, 'after', 'spawn')).toBeGreaterThanOrEqual(Math.max(firstTime(events, 'slow', 'ready'), firstTime(events, 'job', 'exit')));

    const final = await stacks.shutdown(spec.name, 'test');
    expect(final?.state).toBe('stopped');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });

  test('SIGKILL during the drain: the new worker completes it, nothing is left', async () => {
    const { world, stacks, startWorker } = await recoveryWorld();
    const first = await startWorker();
    const { spec, timeline } = await fixtureStack(world, {
      graceful: { env: { TERM_DELAY_MS: '1500' } },
      stubborn: { env: { IGNORE_SIGTERM: '1' }, extra: { shutdown: { timeout: '1500ms' } } },
    });
    cleanUpStack(stacks, spec);
    await stacks.start(spec, []);
    await watchUntilSettled(stacks, spec.name, ['graceful', 'stubborn'], noop);
    const pids = await pidsOf(stacks, spec);

    const handle = stacks.handle(spec.name);
    await handle.signal(shutdownSignal, { reason: 'test' });
    // Both got their stop signal and are inside their shutdown timeout when the worker dies.
    await pollUntil('both services to receive SIGTERM', async () => {
      const events = await readTimeline(timeline);
      return ['graceful', 'stubborn'].every((s) => events.some((e) => e.service === s && e.event === 'term'));
    });
    await first.crash();
    const killedAt = Date.now();

    await startWorker();
    const final = await Promise.race([
      handle.result(),
      new Promise<never>((_, reject) =>
        // The new worker's retry of the interrupted stop must come within the heartbeat timeout (plus the
        // workflow-task and sticky-queue timeouts of the dead worker, 10 s each), not after the stop's
        // start-to-close timeout (shutdown timeout + 30 s).
        setTimeout(() => reject(new Error('the drain did not finish within 25 s of the worker kill')), 25_000),
      ),
    ]);
    console.log(`drain finished ${Date.now() - killedAt} ms after the worker was killed mid-drain`);
    expect(final.state).toBe('stopped');
    expect(await stackProcesses(spec.name)).toEqual([]);
    expect(isLive(pids.graceful) || isLive(pids.stubborn)).toBe(false);
    expect(await readRecord(`${spec.home}/${spec.name}`, 'graceful')).toBeUndefined();
    expect(await readRecord(`${spec.home}/${spec.name}`, 'stubborn')).toBeUndefined();
  });
});

describe('Temporal server restart', () => {
  test('stopping and restarting the server (same SQLite file) loses nothing; the stack stays healthy and drains', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stackflow-server-'));
    const cliPath = await resolveTemporalCli({ log: noop });
    const port = await findFreePort();
    const serverOptions = { cliPath, port, dbFile: join(dir, 'temporal.db'), logFile: join(dir, 'server.log'), detached: false };
    let server: DevServer | undefined = await startDevServer(serverOptions);
    cleanups.push(() => server?.stop());
    const own = await connectClient({ address: server.address, env: {}, dataConverter: await testDataConverter() });
    cleanups.push(() => own.connection.close());

    const { world, stacks, startWorker } = await recoveryWorld(own.client, server.address);
    await startWorker();
    const { spec, timeline } = await fixtureStack(world, { db: {}, api: { dependsOn: { db: 'healthy' } } });
    cleanUpStack(stacks, spec);
    await stacks.start(spec, []);
    await watchUntilSettled(stacks, spec.name, ['db', 'api'], noop);
    const pids = await pidsOf(stacks, spec);

    const stoppedAt = Date.now();
    await server.stop();
    server = undefined;
    // Down for longer than the heartbeat timeout: the server finds every supervision activity timed
    // out when it comes back, and their retries must adopt the services, not respawn them.
    await sleep(HEARTBEAT_TIMEOUT_MS + 1000);
    expect(isLive(pids.db) && isLive(pids.api)).toBe(true);
    server = await startDevServer(serverOptions);
    const restartedAt = Date.now();

    const status = await pollUntil('the status query to answer after the server restart', () => stacks.status(spec.name), {
      timeoutMs: 30_000,
      everyMs: 100,
    });
    console.log(
      `server down for ${restartedAt - stoppedAt} ms; status answered ${Date.now() - restartedAt} ms after the restart`,
    );
    expect(status?.state).toBe('running');
    expect(status?.services.db).toMatchObject({ state: 'healthy', pid: pids.db, restarts: 0 });
    expect(status?.services.api).toMatchObject({ state: 'healthy', pid: pids.api, restarts: 0 });
    expect((await stackProcesses(spec.name)).sort()).toEqual([pids.db, pids.api].sort());
    await pollUntil('supervision to run again', async () => {
      for (const name of ['db', 'api']) {
        const pending = await pendingActivity(own.client, serviceWorkflowId(spec.name, name));
        if (pending?.type !== 'superviseService' || !pending.started) return false;
      }
      return true;
    });

    // Supervision survived too: a crash after the restart is restarted.
    process.kill(pids.api, 'SIGKILL');
    const api = await pollUntil(
      'api to be restarted after the server restart',
      async () => {
        const s = (await stacks.status(spec.name))?.services.api;
        return s?.state === 'healthy' && s.pid !== pids.api ? s : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(api.restarts).toBe(1);
    expect(await spawnsOf(timeline, 'db')).toEqual([pids.db]);

    const final = await stacks.shutdown(spec.name, 'test');
    expect(final?.state).toBe('stopped');
    expect(await stackProcesses(spec.name)).toEqual([]);
  });
});

describe('a record pointing at a foreign process', () => {
  test('the foreign process survives the drain; the stack still completes', async () => {
    // Our own "foreign" process, in a process group of its own (a group kill must not reach the test runner).
    const sleeper = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const sleepPid = sleeper.pid!;
    cleanups.push(() => {
      sleeper.kill('SIGKILL');
    });
    const sleepStat = readStat(sleepPid)!;
    expect(sleepStat.pgid).toBe(sleepPid);

    const { world, stacks, startWorker } = await recoveryWorld();
    await startWorker();

    // Once as a reused pid would look (the service's own start time, someone else's pid), once with
    // the foreign pid and a start time that is close to but not its own.
    const plants = [
      { label: 'pid reused', startTime: (record: { startTime: number }) => record.startTime },
      { label: 'start time off by one tick', startTime: () => sleepStat.startTime + 1 },
    ];
    for (const plant of plants) {
      const { spec } = await fixtureStack(world, { svc: {} });
      cleanUpStack(stacks, spec);
      await stacks.start(spec, []);
      const settled = await watchUntilSettled(stacks, spec.name, ['svc'], noop);
      const realPid = settled.services.svc.pid!;
      const stackDir = `${spec.home}/${spec.name}`;
      const record = (await readRecord(stackDir, 'svc'))!;
      expect(record.pid).toBe(realPid);

      const planted = { ...record, pid: sleepPid, pgid: sleepStat.pgid, startTime: plant.startTime(record) };
      expect(planted.startTime).not.toBe(sleepStat.startTime);
      await writeFile(recordFile(stackDir, 'svc'), JSON.stringify(planted));

      const final = await stacks.shutdown(spec.name, `test: ${plant.label}`);
      expect(final?.state).toBe('stopped');
      expect(final?.services.svc.state).toBe('stopped');
      // Never signalled: still running, still the same process.
      expect(isLive(sleepPid)).toBe(true);
      expect(readStat(sleepPid)?.startTime).toBe(sleepStat.startTime);
      // The planted record is dropped as "gone".
      expect(await readRecord(stackDir, 'svc')).toBeUndefined();
      // The real service lost its record to the plant, so stackflow could no longer identify it: ours to clean up.
      if (isLive(realPid)) process.kill(realPid, 'SIGKILL');
      await pollUntil('the real service to be gone', () => !isLive(realPid));
    }
  });
});
