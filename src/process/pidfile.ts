// Pid files for the processes stackflow leaves in the background (worker, embedded Temporal server).
// They keep the start time too, so a reused pid is never mistaken for ours.
import { readJson, removeFile, writeJsonAtomic } from '../registry/json-file.js';
import { readStat } from './proc.js';
import { isRunning } from './record.js';
import { terminateProcess } from './terminate.js';

interface PidFileContent {
  pid: number;
  startTime: number;
}

export async function writePidFile(file: string, pid: number): Promise<void> {
  const stat = readStat(pid);
  if (!stat) throw new Error(`process ${pid} exited before its pid file ${file} could be written`);
  await writeJsonAtomic(file, { pid, startTime: stat.startTime } satisfies PidFileContent);
}

/** The pid in `file` when that very process still runs; a stale file is removed. */
export async function livePid(file: string): Promise<number | null> {
  const content = await readJson<PidFileContent>(file);
  if (!content) return null;
  if (isRunning(content)) return content.pid;
  await removeFile(file);
  return null;
}

/** SIGTERM the process of `file`, SIGKILL it after `graceMs`; false when nothing of ours ran. */
export async function stopPidFile(file: string, graceMs: number): Promise<boolean> {
  const pid = await livePid(file);
  if (pid === null) return false;
  await terminateProcess(pid, { group: false, graceMs });
  await removeFile(file);
  return true;
}
