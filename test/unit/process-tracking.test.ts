// Nothing a service started survives its stop, and nothing it did not start is touched: with real
// processes that escape (setsid, `env -i`, a double fork), once with the service cgroup (cgroup v2,
// as root here and in CI) and once on the fallback (STACKFLOW_CGROUPS=off: the worker as a child
// subreaper plus the launch marker in the environment).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { ProcessManager } from '../../src/process/manager.js';
import { CGROUPS_ENV, cgroupBase } from '../../src/process/cgroup.js';
import { isZombie, readStat } from '../../src/process/proc.js';
import { readRecord, writeRecord, type ProcessRecord } from '../../src/process/record.js';
import { eventually, removeStackCgroups, serviceSpec, tempDir } from '../fixtures/proc/helpers.js';

let dir: { path: string; remove: () => Promise<void> };
const started: number[] = [];

beforeEach(async () => {
  dir = await tempDir();
});

afterEach(async () => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: what the test expects.
    }
  }
  delete process.env[CGROUPS_ENV];
  await removeStackCgroups(dir.path);
  await dir.remove();
});

/** A unique `sleep` duration, so the test finds its own processes by their argv and nothing else's. */
const unique = () => `${3000 + Math.floor(Math.random() * 6000)}.${process.hrtime()[1] % 1000}`;

/** Live processes whose argv is exactly `argv`. */
function findByArgv(argv: string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readStat(Number(entry));
      if (!stat || isZombie(stat)) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') === argv.join('\0') + '\0') found.push(Number(entry));
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

async function findOne(argv: string[]): Promise<number> {
  const [pid] = await eventually(() => {
    const found = findByArgv(argv);
    return found.length === 1 && found;
  }, 5000, argv.join(' '));
  started.push(pid!);
  return pid!;
}

const gone = (pid: number) => {
  const stat = readStat(pid);
  return stat === null || isZombie(stat);
};

for (const mode of ['cgroup', 'fallback'] as const) {
  describe(`escaped descendants (${mode})`, () => {
    beforeEach(() => {
      if (mode === 'fallback') process.env[CGROUPS_ENV] = 'off';
    });

    it('uses the mechanism it says', () => {
      const manager = new ProcessManager(dir.path);
      // This machine kind (root, cgroup v2 writable) has cgroups; the fallback is forced off them.
      expect(manager.tracking).toBe(mode === 'cgroup' ? 'cgroup' : 'subreaper');
      if (mode === 'cgroup') expect(cgroupBase()).not.toBeNull();
    });

    it('stops a child that left for its own session (setsid) with the leader', async () => {
      const manager = new ProcessManager(dir.path);
      const [daemon, main] = [unique(), unique()];
      const { record } = await manager.spawn(serviceSpec('setsid', ['sh', '-c', `setsid sleep ${daemon} & exec sleep ${main}`]));
      started.push(record.pid);
      const escaped = await findOne(['sleep', daemon]);
      expect(readStat(escaped)!.pgid).not.toBe(record.pgid);

      const result = await manager.stop(record, { signal: 'SIGTERM', timeoutMs: 5000 });
      expect(result).toMatchObject({ escalated: false, remaining: [], notOurs: [] });
      expect(gone(escaped)).toBe(true);
      expect(gone(record.pid)).toBe(true);
    });

    it('stops a child without any marker (env -i) that outlived its leader', async () => {
      const manager = new ProcessManager(dir.path);
      const orphan = unique();
      const spec = serviceSpec('envi', ['sh', '-c', `env -i sleep ${orphan} & sleep 0.2`], {
        restart: { policy: 'never', maxRestarts: 0, backoff: { initialMs: 0, maxMs: 0, factor: 1 } },
      });
      const { record } = await manager.spawn(spec);
      const escaped = await findOne(['sleep', orphan]);
      expect(readFileSync(`/proc/${escaped}/environ`, 'utf8')).toBe('');
      expect(await manager.waitForExit(record)).toMatchObject({ code: 0 });

      const result = await manager.stop(record, { signal: 'SIGTERM', timeoutMs: 5000 });
      expect(result).toMatchObject({ remaining: [], notOurs: [] });
      expect(gone(escaped)).toBe(true);
      await expect(readRecord(dir.path, 'envi')).resolves.toBeUndefined();
    });

    it('stops a service whose own command scrubs its environment (env -i …): it is still ours', async () => {
      const manager = new ProcessManager(dir.path);
      const { record } = await manager.spawn(serviceSpec('bare', ['env', '-i', 'sleep', unique()]));
      started.push(record.pid);
      await eventually(() => readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').startsWith('sleep'), 5000, 'exec of sleep');
      expect(await manager.stop(record, { signal: 'SIGTERM', timeoutMs: 5000 })).toMatchObject({ remaining: [], notOurs: [] });
      expect(gone(record.pid)).toBe(true);
    });

    if (mode === 'fallback') {
      it('reaps an orphan the worker inherited once it ends on its own (no zombie left behind)', async () => {
        const manager = new ProcessManager(dir.path);
        expect(manager.tracking).toBe('subreaper');
        const orphan = `5.${process.hrtime()[1] % 1000}`;
        const { record } = await manager.spawn(serviceSpec('cron', ['sh', '-c', `(setsid sleep ${orphan} &); exec sleep 60`]));
        started.push(record.pid);
        const pid = await findOne(['sleep', orphan]);
        // Re-parented to this process (the subreaper), not to init.
        expect(readStat(pid)!.ppid).toBe(process.pid);
        // It ends after ~5s; the orphan watch (every 5s) saw it alive and collects its exit status.
        await eventually(() => readStat(pid) === null, 15_000, `orphan ${pid} to be reaped`);
        await manager.stop(record, { signal: 'SIGKILL', timeoutMs: 0 });
      }, 20_000);
    }
  });

  describe(`identity (${mode})`, () => {
    beforeEach(() => {
      if (mode === 'fallback') process.env[CGROUPS_ENV] = 'off';
    });

    /** An unrelated live process, and a record naming it with its correct pid and start time. */
    async function forgedRecord(service: string): Promise<ProcessRecord> {
      const foreign = spawn('sleep', [unique()], { detached: true, stdio: 'ignore' });
      started.push(foreign.pid!);
      const stat = readStat(foreign.pid!)!;
      const record: ProcessRecord = {
        service,
        pid: stat.pid,
        pgid: stat.pgid,
        startTime: stat.startTime,
        command: ['sleep'],
        logFile: new ProcessManager(dir.path).logFile(service),
        logOffset: 0,
        startedAt: new Date().toISOString(),
      };
      await writeRecord(dir.path, record);
      return record;
    }

    it('a record naming an unrelated process with its correct pid and start time: not adopted, not killed', async () => {
      const manager = new ProcessManager(dir.path);
      const forged = await forgedRecord('api');
      const { record, adopted } = await manager.spawn(serviceSpec('api', ['sleep', unique()]));
      started.push(record.pid);
      expect(adopted).toBe(false);
      expect(record.pid).not.toBe(forged.pid);
      expect(readFileSync(manager.logFile('api'), 'utf8')).toContain(`names pid ${forged.pid}`);

      const stopped = await manager.stop(forged, { signal: 'SIGKILL', timeoutMs: 500 });
      expect(gone(forged.pid)).toBe(false);
      expect(stopped.notOurs).toEqual([{ pid: forged.pid, command: expect.stringMatching(/^sleep /) }]);
    });

    it('while the service runs, a stop through a forged record stops the real service and leaves the foreign process', async () => {
      const manager = new ProcessManager(dir.path);
      const { record } = await manager.spawn(serviceSpec('api', ['sleep', unique()]));
      started.push(record.pid);
      const forged = await forgedRecord('api');

      const stopped = await manager.stop(forged, { signal: 'SIGTERM', timeoutMs: 5000 });
      expect(stopped).toMatchObject({ remaining: [], notOurs: [{ pid: forged.pid }] });
      expect(gone(forged.pid)).toBe(false);
      expect(gone(record.pid)).toBe(true);
    });
  });
}
