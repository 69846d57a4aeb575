// Two `up -d` at the same moment on one STACKFLOW_HOME: one background worker, one pid file in the
// form every pid file has, and `down` leaves no worker behind.
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { stackProcesses } from '../support/harness.js';
import { testTemporalAddress } from '../support/temporal-server.js';

const CLI = resolve('bin/stackflow.js');
const FIXTURE_SERVICE = resolve('test/fixtures/service.mjs');
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** Background workers started for `home`: `stackflow worker` processes whose environment names it. */
async function workersOf(home: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (/\) [ZX] /.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (argv.includes(CLI) && argv.includes('worker') && environ.includes(`STACKFLOW_HOME=${home}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

describe('the background worker', () => {
  test('two concurrent `up -d` start one worker; worker.pid is one decimal pid and a newline; `down` leaves none', async () => {
    const home = await mkdtemp(join(tmpdir(), 'stackflow-worker-'));
    const name = `w${randomUUID().slice(0, 8)}`;
    const file = join(home, 'stack.yaml');
    await writeFile(
      file,
      ['name: ' + name, 'services:', '  web:', `    command: [node, ${FIXTURE_SERVICE}]`, `    port: ${await findFreePort()}`, ''].join('\n'),
    );
    const env = {
      TEMPORAL_ADDRESS: testTemporalAddress(),
      STACKFLOW_TASK_QUEUE: `e2e-${randomUUID()}`,
      STACKFLOW_HOME: home,
      NO_COLOR: '1',
    };
    const stackflow = (args: string[]) => execa(process.execPath, [CLI, ...args, '-c', file], { reject: false, env });
    cleanups.push(() => stackflow(['down']));

    const ups = await Promise.all([stackflow(['up', '-d']), stackflow(['up', '-d'])]);
    for (const up of ups) expect({ exitCode: up.exitCode, stderr: up.stderr }).toEqual({ exitCode: 0, stderr: '' });

    const workers = await workersOf(home);
    expect(workers).toHaveLength(1);
    expect(await readFile(join(home, 'worker.pid'), 'utf8')).toBe(`${workers[0]}\n`);
    expect(JSON.parse(await readFile(join(home, 'worker.record.json'), 'utf8'))).toEqual({ pid: workers[0], startTime: expect.any(Number) });

    const down = await stackflow(['down']);
    expect(down.exitCode).toBe(0);
    expect(await workersOf(home)).toEqual([]);
    expect(await stackProcesses(name)).toEqual([]);
    expect(existsSync(join(home, 'worker.pid'))).toBe(false);
    expect(existsSync(join(home, 'worker.record.json'))).toBe(false);
  });
});
