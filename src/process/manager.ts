import { appendLogMarker } from './log-times.js';
import { execa, type Result } from 'execa';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync } from 'node:fs';
import { access, constants, mkdir, open, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import which from 'which';
import { portHeldMessage, withLoopbackUrls } from '../health/listeners.js';
import type { ExitInfo, ServiceSpec, ShutdownSettings } from '../model.js';
import { cgroupPids, commandInCgroup, killCgroup, removeCgroup, serviceCgroup } from './cgroup.js';
import { ServiceStartError } from './errors.js';
import { allProcesses, describeProcess, environOf, isZombie, readStat, type ProcStat } from './proc.js';
import { isRunning, readRecord, recordFile, removeRecord, writeRecord, type ProcessRecord } from './record.js';
import { reapOrphan } from './subreaper.js';
import { isOurProcess, LAUNCH_ENV, newLaunchId, serviceProcesses, spawnedHere, trackingMechanism } from './tracking.js';
import { abortable, sleep } from './wait.js';

/** An adopted process is not our child: nothing tells us when it ends, so /proc is polled. */
const ADOPTED_POLL_MS = 50;
/** Polling for group members left behind once the leader has gone. */
const GROUP_POLL_MS = 20;
/** SIGKILL cannot be ignored; a group still alive after this is stuck in the kernel (D state). */
const KILL_WAIT_MS = 5_000;
const TAIL_CHUNK_BYTES = 64 * 1024;
/** How often the subreaper fallback looks for orphans of services that ended on their own. */
const ORPHAN_SCAN_MS = 5_000;
/** How often a new service's cgroup is checked for its pid: the shell joins within a few ms. */
const JOIN_POLL_MS = 2;

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

/** A process named in a stop result: its pid and how a person recognises it (`sleep 3977`). */
export interface NamedProcess {
  pid: number;
  command: string;
}

export interface StopResult {
  /** The leader's exit; null when there was nothing of ours to stop. Adopted processes report code and signal null. */
  exit: ExitInfo | null;
  /** Processes of the service outlived the shutdown timeout and were killed with SIGKILL. */
  escalated: boolean;
  /**
   * Processes of the service still alive after the stop (SIGKILL included): empty when the stop
   * verified that nothing of the service is left. `down` names them and exits 1.
   */
  remaining: NamedProcess[];
  /**
   * The recorded pid runs with the recorded start time but is not ours (no launch marker of this
   * service, not in its cgroup): never signalled, reported here.
   */
  notOurs: NamedProcess[];
}

/**
 * Service processes of one stack directory: detached process groups writing straight to their log
 * files, found again through `run/<service>.json` after a worker restart, and signalled only after
 * their identity (pid + start time) has been checked.
 */
export class ProcessManager {
  /** How descendants are tracked here: cgroup v2, else the worker as a child subreaper plus the launch marker. */
  readonly tracking = trackingMechanism();

  constructor(readonly stackDir: string) {
    if (this.tracking === 'subreaper') watchOrphans();
  }

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
   * Stops every process of the service: the stop signal to the leader's process group and to each
   * other process of the service (its cgroup, its launch markers, their descendants), then, after
   * `settings.timeoutMs`, SIGKILL to whatever is left; then checks that nothing is left and names
   * what is (`remaining`). A recorded pid that is not ours is never signalled (`notOurs`).
   */
  async stop(record: ProcessRecord, settings: ShutdownSettings): Promise<StopResult> {
    const notOurs = isRunning(record) && !isOurProcess(this.stackDir, record) ? [named(record.pid)] : [];
    const leaderOurs = notOurs.length === 0 && isRunning(record);
    let escalated = false;
    const members = await this.processesOf(record);
    const seen = new Set(members.map((m) => m.pid));
    if (members.length > 0) {
      // The group is the leader's own while the leader is ours and still leads it.
      const group = leaderOurs && readStat(record.pid)?.pgid === record.pgid ? record.pgid : null;
      if (group !== null) sendSignal(-group, settings.signal);
      for (const m of members) if (m.pgid !== group) sendSignal(m.pid, settings.signal);
      if (!(await this.waitAllGone(record, leaderOurs, settings.timeoutMs, seen))) {
        escalated = true;
        await this.killAll(record, seen);
        await this.waitAllGone(record, false, KILL_WAIT_MS, seen);
      }
    }
    const remaining = (await this.processesOf(record)).map((m) => named(m.pid));
    reapOrphans(seen);
    const exit = (await ownChildren.get(identity(record))?.exit) ?? (leaderOurs ? { code: null, signal: null, at: new Date().toISOString() } : null);
    // With something left the record stays, so a later stop can try again.
    if (remaining.length === 0) await this.forget(record);
    return { exit, escalated, remaining, notOurs };
  }

  /** Live processes of the service of `record` (see tracking.ts); a recorded pid that is not ours is never among them. */
  async processesOf(record: ProcessRecord): Promise<ProcStat[]> {
    // A stop that comes late, after a newer launch of the service started, must leave that one alone.
    const current = await readRecord(this.stackDir, record.service);
    const launchOnly = current !== undefined && current.launchId !== record.launchId && isRunning(current) && isOurProcess(this.stackDir, current);
    const found = await serviceProcesses(this.stackDir, record, record.service, { launchOnly });
    return !isRunning(record) || isOurProcess(this.stackDir, record) ? found : found.filter((p) => p.pid !== record.pid);
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
    if (existing && isRunning(existing) && isOurProcess(this.stackDir, existing)) {
      const updated = { ...existing, ...definedOnly(meta) };
      if (updated.workflowId !== existing.workflowId || updated.runId !== existing.runId) {
        await writeRecord(this.stackDir, updated);
      }
      return { record: updated, adopted: true };
    }
    if (existing && isRunning(existing)) {
      this.note(spec.name, `run/${spec.name}.json names pid ${existing.pid} (${describeProcess(existing.pid)}), which stackflow did not start as ${spec.name}: not adopted, not signalled`);
    }
    // Processes of the service that no valid record names are ended before a new copy starts.
    await this.endStrays(spec.name);
    if (existing) await this.forget(existing);
    return { record: await this.start(spec, meta, marker), adopted: false };
  }

  /**
   * Ends (SIGKILL) the processes of `service` that no record names: ours all the same (its cgroup,
   * its launch markers), left by a lost or overwritten record. What survives is in `remaining`.
   */
  async endStrays(service: string): Promise<StopResult> {
    const strays = await serviceProcesses(this.stackDir, undefined, service);
    const seen = new Set(strays.map((p) => p.pid));
    if (strays.length > 0) {
      this.note(service, `ending processes of an earlier start: ${strays.map((p) => `${p.pid} (${describeProcess(p.pid)})`).join(', ')}`);
      const cgroup = serviceCgroup(this.stackDir, service);
      if (cgroup !== null) killCgroup(cgroup);
      for (const p of strays) sendSignal(p.pid, 'SIGKILL');
      const deadline = Date.now() + KILL_WAIT_MS;
      while ((await serviceProcesses(this.stackDir, undefined, service)).length > 0 && Date.now() < deadline) await sleep(GROUP_POLL_MS);
    }
    const remaining = (await serviceProcesses(this.stackDir, undefined, service)).map((p) => named(p.pid));
    reapOrphans(seen);
    return { exit: null, escalated: strays.length > 0, remaining, notOurs: [] };
  }

  /** A line from stackflow itself in the service's log (and so in `logs` and in a start error's log tail). */
  private note(service: string, text: string): void {
    try {
      mkdirSync(dirname(this.logFile(service)), { recursive: true });
      appendFileSync(this.logFile(service), `[stackflow] ${text}\n`);
    } catch {
      // An unwritable log: the note would only have explained; nothing depends on it.
    }
  }

  private async start(spec: ServiceSpec, meta: { workflowId?: string; runId?: string }, marker?: string): Promise<ProcessRecord> {
    const [file] = spec.command;
    if (file === undefined) {
      throw new ServiceStartError({ service: spec.name, command: spec.command, reason: 'spawn', detail: 'empty command' });
    }
    await checkCwd(spec);
    const logFile = this.logFile(spec.name);
    await mkdir(dirname(logFile), { recursive: true });
    // The run boundary, while no process of this service writes to the file.
    if (marker) await appendLogMarker(logFile, marker);
    const cgroup = serviceCgroup(this.stackDir, spec.name);
    // Run through a shell that joins the cgroup first: a missing program must still be ENOENT, not exit 127.
    if (cgroup !== null) await checkExecutable(spec, file);
    // The preflight checked the port at `up`; another program may have taken it since.
    const held = spec.port === undefined ? null : portHeldMessage(spec.port);
    if (held !== null) throw new ServiceStartError({ service: spec.name, command: spec.command, reason: 'port', detail: held });
    const launchId = newLaunchId(this.stackDir, spec.name);
    const [program, ...argv] = cgroup === null ? spec.command : commandInCgroup(cgroup, spec.command);

    // The child writes to its own copy of this descriptor: no pipe through us that our death would break.
    // execa's types list only descriptors up to 9, any open descriptor works (it goes to spawn unchanged).
    const fd = openSync(logFile, 'a') as 9;
    let child;
    let logOffset: number;
    try {
      logOffset = fstatSync(fd).size;
      child = execa(program!, argv, {
        cwd: spec.cwd,
        env: { ...withLoopbackUrls(spec.env), [LAUNCH_ENV]: launchId },
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
      launchId,
      ...(cgroup === null ? {} : { cgroup }),
    };
    const own = new OwnChild(child);
    ownChildren.set(identity(record), own);
    spawnedHere.add(identity(record));
    try {
      // The shell joins the cgroup before it execs the service: until it has, a stop would not see it.
      if (cgroup !== null) await joined(cgroup, pid, own.exit);
      await writeRecord(this.stackDir, record);
    } catch (err) {
      // Outside its cgroup, or without a record, nobody could ever find (or stop) this process again.
      if (cgroup !== null) killCgroup(cgroup);
      sendSignal(-record.pgid, 'SIGKILL');
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

  /** True once the leader (when ours) has exited and no process of the service is left; false at the deadline. */
  private async waitAllGone(record: ProcessRecord, leaderOurs: boolean, timeoutMs: number, seen: Set<number>): Promise<boolean> {
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      // The leader's exit is an event; the rest of the service is polled.
      if (leaderOurs) await this.waitForExit(record, deadline);
      for (;;) {
        const left = await this.processesOf(record);
        left.forEach((p) => seen.add(p.pid));
        if (left.length === 0) return true;
        await sleep(GROUP_POLL_MS, deadline);
      }
    } catch (err) {
      if (deadline.aborted) return false;
      throw err;
    }
  }

  /** SIGKILL to the service's cgroup at once, and to each process of the service found. */
  private async killAll(record: ProcessRecord, seen: Set<number>): Promise<void> {
    const cgroup = serviceCgroup(this.stackDir, record.service);
    if (cgroup !== null) killCgroup(cgroup);
    for (const p of await this.processesOf(record)) {
      seen.add(p.pid);
      sendSignal(p.pid, 'SIGKILL');
    }
  }

  private async forget(record: ProcessRecord): Promise<void> {
    ownChildren.delete(identity(record));
    spawnedHere.delete(identity(record));
    await removeRecord(this.stackDir, record);
    // An emptied cgroup is removed with the record; a populated one stays (removeCgroup leaves it).
    const cgroup = serviceCgroup(this.stackDir, record.service);
    if (cgroup !== null) removeCgroup(cgroup);
  }
}

/** Resolves once `pid` is listed in `cgroup` (a few ms after the spawn) or has exited. */
async function joined(cgroup: string, pid: number, exit: Promise<unknown>): Promise<void> {
  let ended = false;
  void exit.then(() => (ended = true));
  const deadline = Date.now() + KILL_WAIT_MS;
  while (!ended && !cgroupPids(cgroup).includes(pid)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} did not join its cgroup ${cgroup} within ${KILL_WAIT_MS}ms`);
    await sleep(JOIN_POLL_MS);
  }
}

function sendSignal(pid: number, name: string): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    // ESRCH: already gone.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function named(pid: number): NamedProcess {
  return { pid, command: describeProcess(pid) };
}

function ownPids(): Set<number> {
  return new Set([...ownChildren.keys()].map((key) => Number(key.split(':')[0])));
}

/** Orphans of services seen alive as this worker's children (the subreaper fallback): pid → start time. */
const orphans = new Map<number, number>();
let orphanWatch: NodeJS.Timeout | undefined;

/**
 * As a subreaper the worker inherits the orphans of its services; when one ends on its own it is
 * the worker's zombie. Every ORPHAN_SCAN_MS the worker notes its children that it did not spawn and
 * that carry a launch marker, and reaps those of them that have ended (same pid and start time).
 */
function watchOrphans(): void {
  if (orphanWatch !== undefined) return;
  orphanWatch = setInterval(() => void collectOrphans().catch(() => undefined), ORPHAN_SCAN_MS);
  orphanWatch.unref();
}

async function collectOrphans(): Promise<void> {
  const own = ownPids();
  for (const p of await allProcesses()) {
    if (p.ppid !== process.pid || own.has(p.pid)) continue;
    if (!isZombie(p)) {
      if (!orphans.has(p.pid) && environOf(p.pid).some((e) => e.startsWith(`${LAUNCH_ENV}=`))) orphans.set(p.pid, p.startTime);
    } else if (orphans.get(p.pid) === p.startTime) {
      reapOrphan(p.pid);
    }
  }
  for (const [pid, startTime] of orphans) if (readStat(pid)?.startTime !== startTime) orphans.delete(pid);
}

/**
 * Orphans of the service that were re-parented to this worker (the subreaper fallback) and have
 * ended are its zombies: collect them. Our own children are left to libuv, which reaps them itself.
 */
function reapOrphans(pids: Set<number>): void {
  const own = ownPids();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat !== null && isZombie(stat) && stat.ppid === process.pid && !own.has(pid)) reapOrphan(pid);
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

/** As execvp would find `file` (PATH of the service's environment, or a path relative to its cwd): ENOENT or EACCES if not. */
async function checkExecutable(spec: ServiceSpec, file: string): Promise<void> {
  let reason: 'ENOENT' | 'EACCES' | undefined;
  if (file.includes('/')) {
    const path = resolve(spec.cwd, file);
    const found = await stat(path).catch(() => undefined);
    if (!found) reason = 'ENOENT';
    else if (!found.isFile() || !(await access(path, constants.X_OK).then(() => true, () => false))) reason = 'EACCES';
  } else if ((await which(file, { path: spec.env.PATH ?? process.env.PATH ?? '', nothrow: true })) === null) {
    reason = 'ENOENT';
  }
  if (reason) throw new ServiceStartError({ service: spec.name, command: spec.command, reason, detail: null });
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
