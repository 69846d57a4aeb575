import { appendLogMarker } from './log-times.js';
import { execa, type Result } from 'execa';
import type { ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ExitInfo, ServiceSpec, ShutdownSettings } from '../model.js';
import { ServiceStartError } from './errors.js';
import { groupMembers, readStat } from './proc.js';
import { isRunning, isSameProcess, readRecord, recordFile, removeRecord, writeRecord, type ProcessRecord } from './record.js';
import { abortable, sleep } from './wait.js';

/** An adopted process is not our child: nothing tells us when it ends, so /proc is polled. */
const ADOPTED_POLL_MS = 50;
/** Polling for group members left behind once the leader has gone. */
const GROUP_POLL_MS = 20;
/** SIGKILL cannot be ignored; a group still alive after this is stuck in the kernel (D state). */
const KILL_WAIT_MS = 5_000;
const TAIL_CHUNK_BYTES = 64 * 1024;

/** A child of this OS process: the only kind whose exit status we learn. */
class OwnChild {
  readonly exit: Promise<ExitInfo>;
  private waiters = 0;

  constructor(private readonly handle: ChildProcess) {
    // Services must never keep a worker alive (it may exit and leave them running); a pending
    // waitForExit does, like any pending I/O.
    handle.unref();
    this.exit = new Promise((resolve) => {
      handle.once('exit', (code, signal) => resolve({ code, signal, at: new Date().toISOString() }));
    });
  }

  async wait(signal?: AbortSignal): Promise<ExitInfo> {
    if (this.waiters++ === 0) this.handle.ref();
    try {
      return await abortable(this.exit, signal);
    } finally {
      if (--this.waiters === 0) this.handle.unref();
    }
  }
}

// Exits are known per OS process, whichever ProcessManager asks, so children are kept by process identity.
const ownChildren = new Map<string, OwnChild>();
// One spawn per record file at a time: a retried spawn must adopt, never start a second copy.
const spawnLocks = new Map<string, Promise<unknown>>();

const identity = (record: Pick<ProcessRecord, 'pid' | 'startTime'>) => `${record.pid}:${record.startTime}`;

export interface SpawnResult {
  record: ProcessRecord;
  /** The process was already running (started by an earlier attempt or worker) and was not spawned again. */
  adopted: boolean;
}

export interface StopResult {
  /** The leader's exit; null when there was nothing of ours to stop. Adopted processes report code and signal null. */
  exit: ExitInfo | null;
  /** The group outlived the shutdown timeout and was killed with SIGKILL. */
  escalated: boolean;
}

/**
 * Service processes of one stack directory: detached process groups writing straight to their log
 * files, found again through `run/<service>.json` after a worker restart, and signalled only after
 * their identity (pid + start time) has been checked.
 */
export class ProcessManager {
  constructor(readonly stackDir: string) {}

  logFile(service: string): string {
    return join(this.stackDir, 'logs', `${service}.log`);
  }

  /** `marker`: a line written into the log before a fresh spawn (not when a running process is adopted). */
  spawn(spec: ServiceSpec, meta: { workflowId?: string; runId?: string } = {}, marker?: string): Promise<SpawnResult> {
    const lockKey = recordFile(this.stackDir, spec.name);
    const previous = spawnLocks.get(lockKey) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.spawnOrAdopt(spec, meta, marker));
    spawnLocks.set(lockKey, run);
    void run
      .finally(() => {
        if (spawnLocks.get(lockKey) === run) spawnLocks.delete(lockKey);
      })
      .catch(() => undefined);
    return run;
  }

  /** Resolves when the process ends; exact code and signal only for a child of this OS process. */
  waitForExit(record: ProcessRecord, signal?: AbortSignal): Promise<ExitInfo> {
    const own = ownChildren.get(identity(record));
    return own ? own.wait(signal) : this.watchAdopted(record, signal);
  }

  isAlive(record: ProcessRecord): boolean {
    return isRunning(record);
  }

  /**
   * Signals the whole process group, waits for it to empty, then SIGKILLs what is left. Nothing is
   * signalled unless the recorded process is still the one we started.
   */
  async stop(record: ProcessRecord, settings: ShutdownSettings): Promise<StopResult> {
    if (!isSameProcess(record)) {
      const leftovers = await killLeftovers(record);
      const exit = (await ownChildren.get(identity(record))?.exit) ?? null;
      await this.forget(record);
      return { exit, escalated: leftovers > 0 };
    }
    // The pid is ours; its group must be too before the whole group is signalled.
    if (readStat(record.pid)?.pgid !== record.pgid) {
      throw new Error(`${record.service}: process ${record.pid} left process group ${record.pgid}; not signalling that group`);
    }
    signalGroup(record.pgid, settings.signal);
    let escalated = false;
    if (!(await this.waitGroupGone(record, settings.timeoutMs))) {
      escalated = true;
      // Checked again: the group may have emptied (and its id become free) since the deadline.
      if (isSameProcess(record) || (await groupMembers(record.pgid)).length > 0) signalGroup(record.pgid, 'SIGKILL');
      if (!(await this.waitGroupGone(record, KILL_WAIT_MS))) {
        const left = (await groupMembers(record.pgid)).map((m) => m.pid);
        throw new Error(
          `${record.service}: process group ${record.pgid} still has members ${left.join(', ')} ${KILL_WAIT_MS}ms after SIGKILL`,
        );
      }
    }
    const exit = (await ownChildren.get(identity(record))?.exit) ?? { code: null, signal: null, at: new Date().toISOString() };
    await this.forget(record);
    return { exit, escalated };
  }

  /** The last `lines` lines of the service's log, read from its end; `sinceOffset` skips output of earlier runs. */
  async tailLog(service: string, lines = 20, sinceOffset = 0): Promise<string[]> {
    if (lines <= 0) return [];
    let file;
    try {
      file = await open(this.logFile(service), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      let position = (await file.stat()).size;
      // A file shorter than the offset was rotated (truncated) since: all of it is this run's.
      const start = sinceOffset > position ? 0 : sinceOffset;
      const chunks: Buffer[] = [];
      let newlines = 0;
      // One newline more than lines wanted: the first line read must be complete.
      while (position > start && newlines <= lines) {
        const length = Math.min(TAIL_CHUNK_BYTES, position - start);
        position -= length;
        const chunk = Buffer.alloc(length);
        const { bytesRead } = await file.read(chunk, 0, length, position);
        chunks.unshift(chunk.subarray(0, bytesRead));
        for (const byte of chunk.subarray(0, bytesRead)) if (byte === 0x0a) newlines++;
      }
      const all = Buffer.concat(chunks).toString('utf8').split('\n');
      if (all.at(-1) === '') all.pop();
      if (position > start) all.shift();
      return all.slice(-lines).map((line) => line.replace(/\r$/, ''));
    } finally {
      await file.close();
    }
  }

  private async spawnOrAdopt(spec: ServiceSpec, meta: { workflowId?: string; runId?: string }, marker?: string): Promise<SpawnResult> {
    const existing = await readRecord(this.stackDir, spec.name);
    if (existing && isRunning(existing)) {
      const updated = { ...existing, ...definedOnly(meta) };
      if (updated.workflowId !== existing.workflowId || updated.runId !== existing.runId) {
        await writeRecord(this.stackDir, updated);
      }
      return { record: updated, adopted: true };
    }
    if (existing) await this.forget(existing);
    return { record: await this.start(spec, meta, marker), adopted: false };
  }

  private async start(spec: ServiceSpec, meta: { workflowId?: string; runId?: string }, marker?: string): Promise<ProcessRecord> {
    const [file, ...args] = spec.command;
    if (file === undefined) {
      throw new ServiceStartError({ service: spec.name, command: spec.command, reason: 'spawn', detail: 'empty command' });
    }
    await checkCwd(spec);
    const logFile = this.logFile(spec.name);
    await mkdir(dirname(logFile), { recursive: true });
    // The run boundary, while no process of this service writes to the file.
    if (marker) await appendLogMarker(logFile, marker);

    // The child writes to its own copy of this descriptor: no pipe through us that our death would break.
    // execa's types list only descriptors up to 9, any open descriptor works (it goes to spawn unchanged).
    const fd = openSync(logFile, 'a') as 9;
    let child;
    let logOffset: number;
    try {
      logOffset = fstatSync(fd).size;
      child = execa(file, args, {
        cwd: spec.cwd,
        env: spec.env,
        extendEnv: true,
        detached: true,
        cleanup: false,
        reject: false,
        stdin: 'ignore',
        stdout: fd,
        stderr: fd,
      });
    } finally {
      closeSync(fd);
    }
    const { pid } = child;
    if (pid === undefined) throw spawnFailure(spec, await child);

    // Same tick as the spawn: even a child that exited at once is still a zombie, not yet reaped.
    const stat = readStat(pid);
    if (!stat) {
      throw new ServiceStartError({ service: spec.name, command: spec.command, reason: 'spawn', detail: `pid ${pid} vanished at spawn` });
    }
    const record: ProcessRecord = {
      service: spec.name,
      pid,
      pgid: stat.pgid,
      startTime: stat.startTime,
      command: spec.command,
      logFile,
      logOffset,
      startedAt: new Date().toISOString(),
      ...definedOnly(meta),
    };
    ownChildren.set(identity(record), new OwnChild(child));
    try {
      await writeRecord(this.stackDir, record);
    } catch (err) {
      // Without a record nobody could ever find (or stop) this process again.
      signalGroup(record.pgid, 'SIGKILL');
      throw err;
    }
    return record;
  }

  private async watchAdopted(record: ProcessRecord, signal?: AbortSignal): Promise<ExitInfo> {
    signal?.throwIfAborted();
    while (isRunning(record)) await sleep(ADOPTED_POLL_MS, signal);
    // Its exit status went to whoever reaped it (init): only the fact that it ended is known.
    return { code: null, signal: null, at: new Date().toISOString() };
  }

  /** True once the leader has exited and no member of its group is left; false at the deadline. */
  private async waitGroupGone(record: ProcessRecord, timeoutMs: number): Promise<boolean> {
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      await this.waitForExit(record, deadline);
      while ((await groupMembers(record.pgid)).length > 0) await sleep(GROUP_POLL_MS, deadline);
      return true;
    } catch (err) {
      if (deadline.aborted) return false;
      throw err;
    }
  }

  private async forget(record: ProcessRecord): Promise<void> {
    ownChildren.delete(identity(record));
    await removeRecord(this.stackDir, record);
  }
}

/**
 * The leader is gone (a crash), but what it started in its group may live on. Only members that
 * provably belong to this service are killed: started after the leader, with the service's name in
 * the environment they inherited from it.
 */
async function killLeftovers(record: ProcessRecord): Promise<number> {
  const marker = `STACKFLOW_SERVICE=${record.service.split('#')[0]}`;
  const leftovers = (await groupMembers(record.pgid)).filter((m) => m.startTime >= record.startTime && environOf(m.pid).includes(marker));
  for (const member of leftovers) {
    try {
      process.kill(member.pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return leftovers.length;
}

function environOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function signalGroup(pgid: number, signal: string): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    // ESRCH: the group is already empty.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function checkCwd(spec: ServiceSpec): Promise<void> {
  let problem: string | undefined;
  try {
    if (!(await stat(spec.cwd)).isDirectory()) problem = 'not a directory';
  } catch (err) {
    problem = (err as NodeJS.ErrnoException).code ?? String(err);
  }
  if (problem) {
    throw new ServiceStartError({ service: spec.name, command: spec.command, reason: 'cwd', detail: `${spec.cwd}: ${problem}` });
  }
}

function spawnFailure(spec: ServiceSpec, result: Result): ServiceStartError {
  const code = (result as { code?: string }).code;
  const reason = code === 'ENOENT' || code === 'EACCES' ? code : 'spawn';
  const detail = (result.cause as Error | undefined)?.message ?? result.message;
  return new ServiceStartError({ service: spec.name, command: spec.command, reason, detail });
}

function definedOnly(meta: { workflowId?: string; runId?: string }): { workflowId?: string; runId?: string } {
  return Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined));
}
