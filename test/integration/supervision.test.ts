// Supervision against a real dev server and real processes: a crash is restarted under the
// service's policy after its back-off, a crash loop gives up, `never` and a clean exit are final,
// and a failing liveness probe restarts the service.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import YAML from 'yaml';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { loadStack } from '../../src/config/index.js';
import type { ServiceStatus, StackSpec } from '../../src/model.js';
import { readRecord } from '../../src/process/record.js';
import type { RegistryContent } from '../../src/registry/registry.js';
import { fixtureStack, forceCleanUp, readTimeline, stackProcesses, startWorld, type TestWorld } from '../support/harness.js';
import { isLive, pollUntil } from '../support/worker-process.js';

let world: TestWorld;
beforeAll(async () => {
  world = await startWorld({ heartbeatTimeoutMs: 2000 });
});
afterAll(async () => {
  await world.stop();
});

/** Stacks of the current test: whatever a failing test leaves behind is terminated and killed. */
const started: StackSpec[] = [];
afterEach(async () => {
  for (const spec of started.splice(0)) await forceCleanUp(world.stacks, spec);
});

async function start(spec: StackSpec): Promise<void> {
  started.push(spec);
  await world.stacks.start(spec, []);
}

const noop = () => undefined;

async function service(stack: string, name: string): Promise<ServiceStatus> {
  const status = await world.stacks.status(stack);
  if (!status) throw new Error(`stack ${stack} is not running`);
  return status.services[name];
}

async function registry(spec: StackSpec): Promise<RegistryContent> {
  return JSON.parse(await readFile(`${spec.home}/${spec.name}/registry.json`, 'utf8').catch(() => '{}'));
}

/** Registered: polled, as the status query may run ahead of the file by a moment. */
async function registeredAs(spec: StackSpec, name: string, pid: number): Promise<void> {
  await pollUntil(`${name} registered as pid ${pid}`, async () => ((await registry(spec))[name]?.pid === pid ? true : undefined), {
    timeoutMs: 10_000,
    everyMs: 10,
  });
}

async function spawnsOf(timeline: string, name: string): Promise<number[]> {
  return (await readTimeline(timeline)).filter((e) => e.service === name && e.event === 'spawn').map((e) => e.pid);
}

async function post(port: number, path: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST' });
  expect(response.ok).toBe(true);
  await response.text();
}

/** Drains the stack and checks nothing it started is left. */
async function drain(spec: StackSpec): Promise<void> {
  const final = await world.stacks.shutdown(spec.name, 'test');
  expect(final?.state).toMatch(/^(stopped|failed)$/);
  expect(await stackProcesses(spec.name)).toEqual([]);
}

describe('supervision', () => {
  test('kill -9 of a healthy service: restarted after its back-off, new pid, registry updated', async () => {
    const { spec, timeline } = await fixtureStack(world, { api: { readyDelayMs: 200 } });
    await start(spec);
    const settled = await watchUntilSettled(world.stacks, spec.name, ['api'], noop);
    expect(settled.services.api.state).toBe('healthy');
    const oldPid = settled.services.api.pid!;
    await registeredAs(spec, 'api', oldPid);

    const killedAt = Date.now();
    process.kill(oldPid, 'SIGKILL');
    const after = await pollUntil(
      'api to be healthy again with a new pid',
      async () => {
        const api = await service(spec.name, 'api');
        return api.state === 'healthy' && api.pid !== oldPid ? api : undefined;
      },
      { timeoutMs: 10_000, everyMs: 10 },
    );

    expect(after.restarts).toBe(1);
    expect(after.pid).not.toBeNull();
    expect(isLive(oldPid)).toBe(false);
    expect(isLive(after.pid!)).toBe(true);
    expect(after.lastExit?.signal).toBe('SIGKILL');
    expect(after.lastExit?.code).toBeNull();
    // Registered again under the new pid (the registration leaves with the healthy report).
    await registeredAs(spec, 'api', after.pid!);
    expect(await readRecord(`${spec.home}/${spec.name}`, 'api')).toMatchObject({ pid: after.pid });
    expect(await spawnsOf(timeline, 'api')).toEqual([oldPid, after.pid]);

    const events = await readTimeline(timeline);
    const respawn = events.find((e) => e.service === 'api' && e.event === 'spawn' && e.pid === after.pid)!.t;
    const ready = events.find((e) => e.service === 'api' && e.event === 'ready' && e.pid === after.pid)!.t;
    const healthyAt = Date.parse(after.healthyAt!);
    // The back-off (100 ms ± 10 %) is a durable timer: the new process cannot start before it ran out.
    expect(respawn - killedAt).toBeGreaterThanOrEqual(90);
    console.log(
      `crash-to-healthy (READY_DELAY_MS 200, back-off 100ms): ${healthyAt - killedAt} ms ` +
        `(kill -> new spawn ${Math.round(respawn - killedAt)} ms, spawn -> listening ${Math.round(ready - respawn)} ms, ` +
        `listening -> seen healthy ${Math.round(healthyAt - ready)} ms)`,
    );

    await drain(spec);
    expect(await registry(spec)).toEqual({});
  });

  test('kill -9 of the main process: the rest of its process group is stopped before the restart', async () => {
    const { spec, timeline } = await fixtureStack(world, { svc: { env: { SPAWN_CHILD: '1' } } });
    await start(spec);
    const oldPid = (await watchUntilSettled(world.stacks, spec.name, ['svc'], noop)).services.svc.pid!;
    const childOf = async (pid: number) =>
      (await readTimeline(timeline)).find((e) => e.event === 'child' && e.pid === pid) as { childPid?: number } | undefined;
    const oldChild = (await pollUntil('the child to be recorded', () => childOf(oldPid))).childPid!;
    expect(isLive(oldChild)).toBe(true);

    process.kill(oldPid, 'SIGKILL');
    const svc = await pollUntil('svc to be restarted', async () => {
      const s = await service(spec.name, 'svc');
      return s.state === 'healthy' && s.pid !== oldPid ? s : undefined;
    });
    const newChild = (await pollUntil('the new child to be recorded', () => childOf(svc.pid!))).childPid!;
    // The old group's leftover (its `sleep` child) must not outlive the process it belonged to.
    expect(isLive(oldChild)).toBe(false);
    expect((await stackProcesses(spec.name)).sort()).toEqual([svc.pid, newChild].sort());

    await drain(spec);
  });

  test('a crash loop gives up after max_restarts: failed with the reason, its dependent blocked, the rest unaffected', async () => {
    const { spec, timeline } = await fixtureStack(world, {
      steady: {},
      // Never listens before it exits: every start attempt ends in a crash with code 1.
      crashy: { readyDelayMs: 5000, env: { EXIT_AFTER_MS: '150', EXIT_CODE: '1' } },
      dependent: { dependsOn: { crashy: 'healthy' } },
    });
    expect(spec.services.crashy.restart).toMatchObject({ policy: 'on-failure', maxRestarts: 2 });
    await start(spec);
    const steadyPid = (await watchUntilSettled(world.stacks, spec.name, ['steady'], noop)).services.steady.pid;

    const settled = await watchUntilSettled(world.stacks, spec.name, ['crashy', 'dependent'], noop);
    const { crashy, dependent, steady } = settled.services;
    expect(crashy.state).toBe('failed');
    expect(crashy.restarts).toBe(2);
    expect(crashy.error).toMatch(/gave up after 2 restarts within 10m/);
    expect(crashy.error).toMatch(/code 1/);
    // 1 start + 2 restarts, then no more.
    expect(await spawnsOf(timeline, 'crashy')).toHaveLength(3);
    expect(dependent.state).toBe('blocked');
    expect(dependent.error).toMatch(/crashy/);
    expect(await spawnsOf(timeline, 'dependent')).toEqual([]);
    expect(steady.state).toBe('healthy');
    expect(steady.pid).toBe(steadyPid);
    expect(settled.state).toBe('degraded');
    expect(Object.keys(await registry(spec))).toEqual(['steady']);

    await drain(spec);
  });

  test('the lastExit of a service that crashes while starting is kept', async () => {
    const { spec } = await fixtureStack(world, {
      crashy: { readyDelayMs: 5000, env: { EXIT_AFTER_MS: '150', EXIT_CODE: '7' }, extra: { restart: { policy: 'never' } } },
    });
    await start(spec);
    const { crashy } = (await watchUntilSettled(world.stacks, spec.name, ['crashy'], noop)).services;
    expect(crashy.state).toBe('failed');
    expect(crashy.error).toMatch(/code 7/);
    expect(crashy.lastExit).toMatchObject({ code: 7, signal: null });
    await drain(spec);
  });

  test('restart policy never: a crashed service stays stopped, its exit recorded', async () => {
    const { spec, timeline } = await fixtureStack(world, { once: { extra: { restart: { policy: 'never' } } }, other: {} });
    await start(spec);
    const settled = await watchUntilSettled(world.stacks, spec.name, ['once', 'other'], noop);
    const pid = settled.services.once.pid!;

    await post(spec.services.once.port!, '/exit?code=3');
    const once = await pollUntil('once to be failed', async () => {
      const s = await service(spec.name, 'once');
      return s.state === 'failed' ? s : undefined;
    });
    expect(once.lastExit).toMatchObject({ code: 3, signal: null });
    expect(once.error).toMatch(/code 3/);
    expect(once.restarts).toBe(0);
    expect(once.pid).toBeNull();
    expect(await spawnsOf(timeline, 'once')).toEqual([pid]);
    expect(await readRecord(`${spec.home}/${spec.name}`, 'once')).toBeUndefined();
    expect(Object.keys(await registry(spec))).toEqual(['other']);
    expect((await service(spec.name, 'other')).state).toBe('healthy');
    expect((await world.stacks.status(spec.name))?.state).toBe('degraded');

    await drain(spec);
  });

  test('exit code 0 under on-failure: completed, not restarted', async () => {
    const { spec, timeline } = await fixtureStack(world, { job: {} });
    expect(spec.services.job.restart.policy).toBe('on-failure');
    await start(spec);
    const pid = (await watchUntilSettled(world.stacks, spec.name, ['job'], noop)).services.job.pid!;

    await post(spec.services.job.port!, '/exit?code=0');
    const job = await pollUntil('job to be completed', async () => {
      const s = await service(spec.name, 'job');
      return s.state !== 'healthy' ? s : undefined;
    });
    expect(job.state).toBe('completed');
    expect(job.restarts).toBe(0);
    expect(job.lastExit).toMatchObject({ code: 0, signal: null });
    expect(job.error).toBeNull();
    expect(await spawnsOf(timeline, 'job')).toEqual([pid]);
    expect(await registry(spec)).toEqual({});
    expect((await world.stacks.status(spec.name))?.state).toBe('running');

    await drain(spec);
  });

  test('a failing liveness probe restarts the service', async () => {
    const fixture = await fixtureStack(world, { live: {} });
    // The liveness probe goes through the stack file like any other setting.
    const doc = YAML.parse(await readFile(fixture.spec.file, 'utf8'));
    doc.services.live.liveness = {
      http: { url: `http://127.0.0.1:${fixture.spec.services.live.port}/health` },
      interval: '200ms',
      failure_threshold: 2,
    };
    await writeFile(fixture.spec.file, YAML.stringify(doc));
    const { spec } = await loadStack(fixture.spec.file, { env: { PATH: process.env.PATH }, home: fixture.spec.home });
    expect(spec.services.live.liveness).toMatchObject({ intervalMs: 200, failureThreshold: 2 });

    await start(spec);
    const oldPid = (await watchUntilSettled(world.stacks, spec.name, ['live'], noop)).services.live.pid!;
    const failedAt = Date.now();
    await post(spec.services.live.port!, '/health/fail');

    const live = await pollUntil(
      'live to be restarted',
      async () => {
        const s = await service(spec.name, 'live');
        return s.state === 'healthy' && s.pid !== oldPid ? s : undefined;
      },
      { timeoutMs: 10_000 },
    );
    const restartedIn = Date.now() - failedAt;
    expect(live.restarts).toBe(1);
    expect(isLive(oldPid)).toBe(false);
    // The unresponsive process was stopped by stackflow (SIGTERM), not crashed by itself.
    const events = await readTimeline(fixture.timeline);
    expect(events.filter((e) => e.pid === oldPid).map((e) => e.event)).toEqual(['spawn', 'ready', 'term', 'exit']);
    expect(await spawnsOf(fixture.timeline, 'live')).toEqual([oldPid, live.pid]);
    await registeredAs(spec, 'live', live.pid!);
    console.log(`liveness failure -> healthy again: ${restartedIn} ms`);

    await drain(spec);
  });
});
