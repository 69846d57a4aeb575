import { join } from 'node:path';
import { readJson, removeFile, writeJsonAtomic } from '../registry/json-file.js';
import { isZombie, readStat } from './proc.js';

/** What a worker needs to find a service process again after it restarts: `<stackDir>/run/<service>.json`. */
export interface ProcessRecord {
  service: string;
  pid: number;
  pgid: number;
  /** From /proc/<pid>/stat (clock ticks since boot): pid + startTime identify the process. */
  startTime: number;
  command: string[];
  logFile: string;
  /** Size of the log file before this process wrote to it: where its own output begins. */
  logOffset: number;
  startedAt: string;
  workflowId?: string;
  runId?: string;
  /** `STACKFLOW_LAUNCH` of this spawn, in the environment of the process and all it starts (see tracking.ts). */
  launchId?: string;
  /** The service's cgroup v2 directory when the process was started in one (see cgroup.ts). */
  cgroup?: string;
}

export function recordFile(stackDir: string, service: string): string {
  return join(stackDir, 'run', `${service}.json`);
}

export function readRecord(stackDir: string, service: string): Promise<ProcessRecord | undefined> {
  return readJson<ProcessRecord>(recordFile(stackDir, service));
}

export function writeRecord(stackDir: string, record: ProcessRecord): Promise<void> {
  return writeJsonAtomic(recordFile(stackDir, record.service), record);
}

/** Removes the record of this process; a newer record (another process of the service) stays. */
export async function removeRecord(stackDir: string, record: ProcessRecord): Promise<void> {
  const current = await readRecord(stackDir, record.service);
  if (current && current.pid === record.pid && current.startTime === record.startTime) {
    await removeFile(recordFile(stackDir, record.service));
  }
}

/** The recorded process still exists (possibly as a zombie); a reused pid never matches. */
export function isSameProcess(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  return readStat(record.pid)?.startTime === record.startTime;
}

/** The recorded process exists and has not exited. */
export function isRunning(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  const stat = readStat(record.pid);
  return stat !== null && stat.startTime === record.startTime && !isZombie(stat);
}
