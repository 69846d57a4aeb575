import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import ts from 'typescript';
import { dirname, join } from 'node:path';
import { ServiceStartError, formatCommand } from '../../src/process/errors.js';
import { ProcessManager } from '../../src/process/manager.js';
import { cpuPercent, groupMembers, isZombie, pageSize, parseStat, readStat, sampleGroup } from '../../src/process/proc.js';
import { isSameProcess, readRecord, recordFile, writeRecord, type ProcessRecord } from '../../src/process/record.js';
import { LAUNCH_ENV, newLaunchId } from '../../src/process/tracking.js';
import { ProcessGroups, eventually, freePort, removeStackCgroups, serverCommand, serviceSpec, tempDir } from '../fixtures/proc/helpers.js';

const groups = new ProcessGroups();
let dir: { path: string; remove: () => Promise<void> };
let manager: ProcessManager;

beforeEach(async () => {
  dir = await tempDir();
  manager = new ProcessManager(dir.path);
});

afterEach(async () => {
  groups.killAll();
  await removeStackCgroups(dir.path);
  await dir.remove();
});

async function spawnTracked(m: ProcessManager, name: string, command: string[]) {
  const result = await m.spawn(serviceSpec(name, command));
  groups.add(result.record.pgid);
  return result;
}

const sh = (script: string) => ['/bin/sh', '-c', script];

/** Exited: orphans may linger as zombies where pid 1 does not reap (as in some containers). */
function isGone(pid: number): boolean {
  const procStat = readStat(pid);
  return procStat === null || isZombie(procStat);
}

/**
 * A process started outside the manager, with a record for it; `startTimeShift` != 0 makes the
 * record point at the pid but not at this process (a reused pid). `launched`: it carries a launch
 * marker of the service, as what a previous worker started does; otherwise it is a stranger.
 */
async function plantOutsider(service: string, startTimeShift = 0, launched = false): Promise<ProcessRecord> {
  const launchId = launched ? newLaunchId(dir.path, service) : undefined;
  const env = launchId === undefined ? process.env : { ...process.env, [LAUNCH_ENV]: launchId };
  const outsider = spawn('sleep', ['30'], { detached: true, stdio: 'ignore', env });
  const pid = outsider.pid!;
  groups.add(pid);
  const record: ProcessRecord = {
    service,
    pid,
    pgid: pid,
    startTime: readStat(pid)!.startTime + startTimeShift,
    command: ['sleep', '30'],
    logFile: manager.logFile(service),
    logOffset: 0,
    startedAt: new Date().toISOString(),
    ...(launchId === undefined ? {} : { launchId }),
  };
  await writeRecord(dir.path, record);
  return record;
}

async function logText(service: string): Promise<string> {
  return readFile(manager.logFile(service), 'utf8');
}

describe('proc', () => {
  it('parses a stat line whose comm contains spaces and parentheses', () => {
    const fields = ['S', '1', '4242', '4242', '0', '-1', '4194304', '0', '0', '0', '0', '7', '3'];
    const line = `4242 (my (weird) name) ${fields.join(' ')} 0 0 20 0 1 0 123456 1000 55 18446744073709551615\n`;
    expect(parseStat(line)).toEqual({
      pid: 4242,
      comm: 'my (weird) name',
      state: 'S',
      ppid: 1,
      pgid: 4242,
      startTime: 123456,
      cpuTicks: 10,
      rssPages: 55,
    });
  });

  it('reads this process and reports a missing pid as null', () => {
    const self = readStat(process.pid);
    expect(self).toMatchObject({ pid: process.pid, ppid: process.ppid, state: expect.any(String) });
    expect(self!.startTime).toBeGreaterThan(0);
    expect(readStat(2 ** 22 + 1)).toBeNull();
  });

  it('samples CPU and memory of a process group', async () => {
    const { record } = await spawnTracked(manager, 'busy', ['node', '-e', 'for (;;) {}']);
    const before = await sampleGroup(record.pgid);
    await new Promise((resolve) => setTimeout(resolve, 300)); // CPU use is measured over time
    const after = await sampleGroup(record.pgid);
    expect(after.pids).toEqual([record.pid]);
    expect(after.rssBytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(after.rssBytes % pageSize()).toBe(0);
    // How much of a core the busy loop gets depends on the machine's load; that it is sampled does not.
    expect(cpuPercent(before, after)).toBeGreaterThan(0);
  });
});

describe('ProcessManager.spawn', () => {
  it('starts a detached process group whose output goes straight to the log file', async () => {
    const port = await freePort();
    const { record, adopted } = await spawnTracked(manager, 'web', serverCommand(port, 0));
    expect(adopted).toBe(false);

    const procStat = readStat(record.pid)!;
    expect(record.pgid).toBe(record.pid);
    expect(procStat.pgid).toBe(record.pid);
    expect(procStat.startTime).toBe(record.startTime);
    expect(await readRecord(dir.path, 'web')).toEqual(record);
    expect(record).toMatchObject({ service: 'web', command: serverCommand(port, 0), logOffset: 0 });
    await eventually(async () => (await logText('web')).includes(`listening ${port}`), 5000, 'server output');
    expect(manager.isAlive(record)).toBe(true);
    // Not a pipe through the manager: the child's stdout and stderr are the log file itself.
    expect(await readlink(`/proc/${record.pid}/fd/1`)).toBe(manager.logFile('web'));
    expect(await readlink(`/proc/${record.pid}/fd/2`)).toBe(manager.logFile('web'));
  });

  it('passes env and cwd, and appends to the log across runs', async () => {
    const spec = serviceSpec('env', sh('echo "$GREETING from $(pwd)"'), { env: { GREETING: 'hello' }, cwd: '/tmp' });
    const first = await manager.spawn(spec);
    await manager.waitForExit(first.record);
    const second = await manager.spawn(spec);
    expect(second.adopted).toBe(false);
    await manager.waitForExit(second.record);
    expect(await logText('env')).toBe('hello from /tmp\nhello from /tmp\n');
    expect(second.record.logOffset).toBe('hello from /tmp\n'.length);
  });

  it('reports the exit code and signal of its own children', async () => {
    const crash = await spawnTracked(manager, 'crash', ['node', '-e', 'console.error("boom: no database"); process.exit(3)']);
    expect(await manager.waitForExit(crash.record)).toEqual({ code: 3, signal: null, at: expect.any(String) });

    const killed = await spawnTracked(manager, 'killed', ['sleep', '30']);
    const exit = manager.waitForExit(killed.record);
    process.kill(killed.record.pid, 'SIGKILL');
    expect(await exit).toMatchObject({ code: null, signal: 'SIGKILL' });

    const error = ServiceStartError.fromExit('crash', crash.record.command, { code: 3, signal: null, at: '' }, await manager.tailLog('crash'));
    expect(error.message).toBe(
      "crash: exited with code 3 during start (command: node -e 'console.error(\"boom: no database\"); process.exit(3)')\n" +
        '  last log lines:\n' +
        '  | boom: no database',
    );
    expect(error.details).toMatchObject({ service: 'crash', reason: 'exit', exitCode: 3, logTail: ['boom: no database'] });
  });

  it('adopts a running process instead of spawning it again (a restarted worker)', async () => {
    const port = await freePort();
    const spec = serviceSpec('web', serverCommand(port, 0));
    const first = await manager.spawn(spec, { workflowId: 'stack-demo.web', runId: 'run-1' });
    groups.add(first.record.pgid);

    const restarted = new ProcessManager(dir.path);
    const second = await restarted.spawn(spec, { runId: 'run-2' });
    expect(second.adopted).toBe(true);
    expect(second.record).toEqual({ ...first.record, runId: 'run-2' });
    expect(await readRecord(dir.path, 'web')).toEqual(second.record);

    await eventually(async () => (await logText('web')).includes('listening'), 5000, 'server output');
    const exit = restarted.waitForExit(second.record);
    process.kill(second.record.pid, 'SIGKILL');
    await exit;
    expect(restarted.isAlive(second.record)).toBe(false);
    expect((await logText('web')).match(/booting/g)).toHaveLength(1);
  });

  it('watches an adopted process that is not its child through /proc', async () => {
    const planted = await plantOutsider('old', 0, true);
    const { record, adopted } = await manager.spawn(serviceSpec('old', ['sleep', '30']));
    expect(adopted).toBe(true);
    expect(record).toEqual(planted);

    const started = Date.now();
    const exit = manager.waitForExit(record);
    process.kill(record.pid, 'SIGKILL');
    expect(await exit).toMatchObject({ code: null, signal: null });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('replaces a stale record whose process is gone', async () => {
    const first = await spawnTracked(manager, 'job', ['true']);
    await manager.waitForExit(first.record);
    const second = await spawnTracked(manager, 'job', ['sleep', '30']);
    expect(second.adopted).toBe(false);
    expect(second.record.pid).not.toBe(first.record.pid);
    expect(await readRecord(dir.path, 'job')).toEqual(second.record);
  });

  it('spawns once when asked twice at the same time', async () => {
    const spec = serviceSpec('once', ['sleep', '30']);
    const results = await Promise.all([manager.spawn(spec), new ProcessManager(dir.path).spawn(spec)]);
    results.forEach((r) => groups.add(r.record.pgid));
    expect(results.map((r) => r.adopted).sort()).toEqual([false, true]);
    expect(results[0].record.pid).toBe(results[1].record.pid);
  });

  it('rejects a missing executable, a non-executable file and a bad cwd, leaving no record', async () => {
    const missing = manager.spawn(serviceSpec('ghost', ['no-such-binary-xyz', '--flag']));
    await expect(missing).rejects.toThrow(ServiceStartError);
    await expect(missing).rejects.toMatchObject({
      message: 'ghost: executable not found: no-such-binary-xyz (command: no-such-binary-xyz --flag)',
      details: { service: 'ghost', reason: 'ENOENT', command: ['no-such-binary-xyz', '--flag'] },
    });

    const script = join(dir.path, 'not-executable.sh');
    await writeFile(script, '#!/bin/sh\necho hi\n');
    await chmod(script, 0o644);
    await expect(manager.spawn(serviceSpec('noexec', [script]))).rejects.toMatchObject({ details: { reason: 'EACCES' } });

    await expect(manager.spawn(serviceSpec('nowhere', ['true'], { cwd: join(dir.path, 'missing') }))).rejects.toMatchObject({
      details: { reason: 'cwd', detail: `${join(dir.path, 'missing')}: ENOENT` },
    });

    for (const name of ['ghost', 'noexec', 'nowhere']) {
      await expect(stat(recordFile(dir.path, name))).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  it('serializes a start error to plain data', () => {
    const error = new ServiceStartError({ service: 'db', command: ['pg'], reason: 'timeout', detail: 'tcp 127.0.0.1:5432 → ECONNREFUSED' });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'ServiceStartError',
      message: 'db: not ready in time: tcp 127.0.0.1:5432 → ECONNREFUSED (command: pg)',
      service: 'db',
      command: ['pg'],
      reason: 'timeout',
      exitCode: null,
      signal: null,
      detail: 'tcp 127.0.0.1:5432 → ECONNREFUSED',
      logTail: [],
    });
    expect(formatCommand(['sh', '-c', "echo 'hi'"])).toBe(`sh -c 'echo '\\''hi'\\'''`);
  });
});

describe('a service and its worker', () => {
  /** Our process modules compiled to plain JS, so a separate node process can act as the worker. */
  async function compiledModules(): Promise<string> {
    const out = join(dir.path, 'compiled');
    const sources = [
      'process/manager',
      'process/errors',
      'process/proc',
      'process/record',
      'process/wait',
      'process/cgroup',
      'process/tracking',
      'process/subreaper',
      'health/listeners',
      'registry/json-file',
    ];
    for (const name of sources) {
      const source = await readFile(join(process.cwd(), 'src', `${name}.ts`), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      });
      await mkdir(dirname(join(out, `${name}.js`)), { recursive: true });
      await writeFile(join(out, `${name}.js`), outputText);
    }
    await writeFile(join(out, 'package.json'), '{ "type": "module" }');
    await symlink(join(process.cwd(), 'node_modules'), join(out, 'node_modules'));
    return join(out, 'process', 'manager.js');
  }

  /** Runs a worker that spawns `spec`, prints the record, then ends as `ending` says; resolves with the record. */
  async function runWorker(managerModule: string, name: string, ending: 'returns' | 'is killed'): Promise<ProcessRecord> {
    const script = `
      import { ProcessManager } from ${JSON.stringify(managerModule)};
      const { record } = await new ProcessManager(${JSON.stringify(dir.path)}).spawn(${JSON.stringify(serviceSpec(name, ['sleep', '30']))});
      console.log(JSON.stringify(record));
      ${ending === 'is killed' ? "process.kill(process.pid, 'SIGKILL');" : ''}`;
    const worker = await execa('node', ['--input-type=module', '-e', script], { reject: false, timeout: 10_000 });
    const record = JSON.parse(worker.stdout) as ProcessRecord;
    groups.add(record.pgid);
    expect(worker).toMatchObject(ending === 'is killed' ? { signal: 'SIGKILL' } : { exitCode: 0, timedOut: false });
    return record;
  }

  it('keeps running when the worker is killed or simply exits, and the next worker adopts it', async () => {
    const managerModule = await compiledModules();
    for (const ending of ['is killed', 'returns'] as const) {
      const service = ending === 'returns' ? 'exits' : 'killed';
      const record = await runWorker(managerModule, service, ending);
      expect(manager.isAlive(record)).toBe(true);

      const { adopted, record: adoptedRecord } = await manager.spawn(serviceSpec(service, ['sleep', '30']));
      expect(adopted).toBe(true);
      expect(adoptedRecord.pid).toBe(record.pid);
      expect(await manager.stop(adoptedRecord, { signal: 'SIGTERM', timeoutMs: 5000 })).toMatchObject({ escalated: false });
      expect(isGone(record.pid)).toBe(true);
    }
  });
});

describe('ProcessManager.waitForExit', () => {
  it('rejects when aborted, for own and adopted processes alike', async () => {
    const own = (await spawnTracked(manager, 'sleeper', ['sleep', '30'])).record;
    const adopted = await plantOutsider('outsider');
    for (const record of [own, adopted]) {
      const controller = new AbortController();
      const waiting = manager.waitForExit(record, controller.signal);
      controller.abort();
      await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
      expect(manager.isAlive(record)).toBe(true);
    }
  });
});

describe('ProcessManager.stop', () => {
  it('sends the stop signal to the whole group: child and grandchildren go', async () => {
    const { record } = await spawnTracked(manager, 'tree', sh('sleep 30 & sleep 30 & wait'));
    const members = await eventually(async () => {
      const m = await groupMembers(record.pgid);
      return m.length === 3 && m;
    }, 5000, 'three group members');

    const result = await manager.stop(record, { signal: 'SIGTERM', timeoutMs: 5000 });
    expect(result).toEqual({ exit: { code: null, signal: 'SIGTERM', at: expect.any(String) }, escalated: false, remaining: [], notOurs: [] });
    for (const member of members) expect(isGone(member.pid)).toBe(true);
    await expect(readRecord(dir.path, 'tree')).resolves.toBeUndefined();
  });

  it('escalates to SIGKILL when the group ignores the stop signal', async () => {
    const { record } = await spawnTracked(manager, 'stubborn', sh("trap '' TERM; echo trapped; sleep 30; :"));
    await eventually(async () => (await logText('stubborn')).includes('trapped'), 5000, 'trap installed');

    const started = Date.now();
    const result = await manager.stop(record, { signal: 'SIGTERM', timeoutMs: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(result).toEqual({ exit: { code: null, signal: 'SIGKILL', at: expect.any(String) }, escalated: true, remaining: [], notOurs: [] });
    expect(await groupMembers(record.pgid)).toEqual([]);
  });

  it('kills members left behind after the leader exits', async () => {
    // The leader dies on SIGTERM; a grandchild that ignores it keeps the group alive.
    const { record } = await spawnTracked(manager, 'leaky', sh(`sh -c "trap '' TERM; sleep 30" & echo started; wait`));
    const members = await eventually(async () => {
      const m = await groupMembers(record.pgid);
      return m.length === 3 && m;
    }, 5000, 'three group members');

    const result = await manager.stop(record, { signal: 'SIGTERM', timeoutMs: 300 });
    expect(result.escalated).toBe(true);
    expect(result.exit).toMatchObject({ signal: 'SIGTERM' });
    for (const member of members) expect(isGone(member.pid)).toBe(true);
  });

  it('never signals a process whose identity does not match the record', async () => {
    const planted = await plantOutsider('reused', -1);
    const real = readStat(planted.pid)!;
    expect(isSameProcess(planted)).toBe(false);

    expect(await manager.stop(planted, { signal: 'SIGKILL', timeoutMs: 100 })).toEqual({ exit: null, escalated: false, remaining: [], notOurs: [] });
    expect(readStat(planted.pid)?.startTime).toBe(real.startTime);
    expect(isGone(planted.pid)).toBe(false);
    await expect(readRecord(dir.path, 'reused')).resolves.toBeUndefined();

    // Nor does spawn adopt it: it starts a process of its own.
    await writeRecord(dir.path, planted);
    const { adopted, record } = await spawnTracked(manager, 'reused', ['sleep', '30']);
    expect(adopted).toBe(false);
    expect(record.pid).not.toBe(planted.pid);
  });

  it('leaves a newer record of the service in place', async () => {
    const old = await spawnTracked(manager, 'svc', ['true']);
    await manager.waitForExit(old.record);
    const current = await spawnTracked(manager, 'svc', ['sleep', '30']);
    expect(await manager.stop(old.record, { signal: 'SIGTERM', timeoutMs: 100 })).toEqual({ exit: null, escalated: false, remaining: [], notOurs: [] });
    expect(await readRecord(dir.path, 'svc')).toEqual(current.record);
    expect(manager.isAlive(current.record)).toBe(true);
  });
});

describe('ProcessManager.tailLog', () => {
  it('returns the last lines of a large log, reading only its end', async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i} ${'x'.repeat(20)}`);
    await mkdir(dirname(manager.logFile('big')), { recursive: true });
    await writeFile(manager.logFile('big'), lines.join('\n') + '\n');
    expect(await manager.tailLog('big', 3)).toEqual(lines.slice(-3));
    expect(await manager.tailLog('big')).toEqual(lines.slice(-20));
  });

  it('handles a missing file, a short file, a missing final newline and CRLF', async () => {
    expect(await manager.tailLog('none')).toEqual([]);
    await mkdir(dirname(manager.logFile('noop')), { recursive: true });
    await writeFile(manager.logFile('noop'), 'a\r\nb\nc');
    expect(await manager.tailLog('noop', 20)).toEqual(['a', 'b', 'c']);
    expect(await manager.tailLog('noop', 2)).toEqual(['b', 'c']);
  });

  it('skips the output of earlier runs', async () => {
    const spec = serviceSpec('runs', sh('echo "run $$"'));
    const first = await manager.spawn(spec);
    await manager.waitForExit(first.record);
    const second = await manager.spawn(spec);
    await manager.waitForExit(second.record);
    expect(await manager.tailLog('runs', 20, second.record.logOffset)).toEqual([`run ${second.record.pid}`]);
    expect(await manager.tailLog('runs', 20)).toHaveLength(2);
  });
});
