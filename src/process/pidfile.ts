// Pid files for the processes stackflow leaves in the background (the worker of `up -d`). The pid
// file holds one decimal pid and a newline, as every pid file (`kill $(cat worker.pid)`, systemd's
// `PIDFile=`); the start time that proves the pid was not reused lives in a separate record beside
// it (`worker.pid` → `worker.record.json`), so a reused pid is never mistaken for ours.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJson, removeFile, writeJsonAtomic, writeTextAtomic } from '../registry/json-file.js';
import { readStat } from './proc.js';
import { isRunning } from './record.js';
import { terminateProcess } from './terminate.js';

/** `<STACKFLOW_HOME>/worker.pid`: the pid file of the home's background worker (`up -d`). */
export function workerPidFile(home: string): string {
  return join(home, 'worker.pid');
}

/** The identity record of a pid file: `{ pid, startTime }` (clock ticks since boot, /proc/<pid>/stat field 22). */
export interface PidRecord {
  pid: number;
  startTime: number;
}

/** `worker.pid` → `worker.record.json`: where the identity of a pid file's process is kept. */
export function pidRecordFile(pidFile: string): string {
  return `${pidFile.replace(/\.pid$/, '')}.record.json`;
}

/** Writes the identity record first, then the pid file: a pid file is never seen without its record. */
export async function writePidFile(file: string, pid: number): Promise<void> {
  const stat = readStat(pid);
  if (!stat) throw new Error(`process ${pid} exited before its pid file ${file} could be written`);
  await writeJsonAtomic(pidRecordFile(file), { pid, startTime: stat.startTime } satisfies PidRecord);
  await writeTextAtomic(file, `${pid}\n`);
}

async function readPid(file: string): Promise<number | null> {
  try {
    const text = await readFile(file, 'utf8');
    return /^\d+\n?$/.test(text) ? Number(text.trim()) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The pid in `file` when that very process still runs (its record names the same pid and start
 * time); otherwise null, and the stale pid file and record are removed. A pid file without a
 * matching record is not trusted: its process is never reported as ours, so never signalled.
 */
export async function livePid(file: string): Promise<number | null> {
  const pid = await readPid(file);
  const record = await readJson<PidRecord>(pidRecordFile(file)).catch(() => undefined);
  if (pid !== null && record?.pid === pid && isRunning(record)) return pid;
  await removePidFile(file);
  return null;
}

export async function removePidFile(file: string): Promise<void> {
  await removeFile(file);
  await removeFile(pidRecordFile(file));
}

/** SIGTERM the process of `file`, SIGKILL it after `graceMs`; false when nothing of ours ran. */
export async function stopPidFile(file: string, graceMs: number): Promise<boolean> {
  const pid = await livePid(file);
  if (pid === null) return false;
  await terminateProcess(pid, { group: false, graceMs });
  await removePidFile(file);
  return true;
}
