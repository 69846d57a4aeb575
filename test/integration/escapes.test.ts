// SPEC §4's two promises through the workflows, with real processes: nothing the stack started
// outlives the drain (children that setsid or scrub their environment included), and a process
// record naming a process stackflow did not start is neither adopted nor signalled.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { isZombie, readStat } from '../../src/process/proc.js';
import { writeRecord } from '../../src/process/record.js';
import { eventually } from '../fixtures/proc/helpers.js';
import { fixtureStack, stackProcesses, startWorld, type TestWorld } from '../support/harness.js';

let world: TestWorld;
const foreign: number[] = [];
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  for (const pid of foreign) process.kill(pid, 'SIGKILL');
  await world.stop();
});

const noop = () => undefined;
const unique = () => `${3000 + Math.floor(Math.random() * 6000)}.${process.hrtime()[1] % 1000}`;
const alive = (pid: number) => {
  const stat = readStat(pid);
  return stat !== null && !isZombie(stat);
};

/** Live processes whose argv is exactly `argv`. */
function findByArgv(argv: string[]): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return alive(Number(entry)) && readFileSync(`/proc/${entry}/cmdline`, 'utf8') === argv.join('\0') + '\0';
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('down', () => {
  test('leaves nothing of a service whose children setsid or scrub their environment (env -i)', async () => {
    const [daemon, main, scrubbed] = [unique(), unique(), unique()];
    const { spec } = await fixtureStack(world, {
      daemon: { port: false, extra: { command: ['sh', '-c', `setsid sleep ${daemon} & exec sleep ${main}`] } },
      // Its leader ends on its own: `restart: never`, the child it leaves has no marker at all.
      oneshot: { port: false, extra: { command: ['sh', '-c', `env -i sleep ${scrubbed} & sleep 5`], restart: { policy: 'never' } } },
    });
    await world.stacks.start(spec, []);
    // Seen while they run (the one-shot's leftovers are ended as soon as its leader exits).
    const escaped = await eventually(() => {
      const found = [...findByArgv(['sleep', daemon]), ...findByArgv(['sleep', scrubbed])];
      return found.length === 2 && found;
    }, 10_000, 'both escaped children');
    const settled = await watchUntilSettled(world.stacks, spec.name, ['daemon', 'oneshot'], noop);
    expect(settled.services.daemon.state).toBe('healthy');

    await world.stacks.shutdown(spec.name, 'test');
    expect(escaped.filter(alive)).toEqual([]);
    expect(findByArgv(['sleep', main])).toEqual([]);
    expect(await stackProcesses(spec.name)).toEqual([]);
  });

  test('a record naming an unrelated live process (right pid and start time): not adopted at up, not killed at down', async () => {
    const { spec } = await fixtureStack(world, { api: {} });
    const stranger = spawn('sleep', [unique()], { detached: true, stdio: 'ignore' });
    foreign.push(stranger.pid!);
    const stat = readStat(stranger.pid!)!;
    const stackDir = join(spec.home, spec.name);
    await writeRecord(stackDir, {
      service: 'api',
      pid: stat.pid,
      pgid: stat.pgid,
      startTime: stat.startTime,
      command: spec.services.api!.command,
      logFile: join(stackDir, 'logs', 'api.log'),
      logOffset: 0,
      startedAt: new Date().toISOString(),
    });

    await world.stacks.start(spec, []);
    const settled = await watchUntilSettled(world.stacks, spec.name, ['api'], noop);
    expect(settled.services.api.state).toBe('healthy');
    expect(settled.services.api.pid).not.toBe(stranger.pid);

    await world.stacks.shutdown(spec.name, 'test');
    expect(alive(stranger.pid!)).toBe(true);
    expect(await stackProcesses(spec.name)).toEqual([]);
  });
});
