// The record of the embedded Temporal dev server of a STACKFLOW_HOME (`<home>/temporal.pid`): which
// process it is and where it answers. Node modules only: the commands' light read path reads it.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive, processStartTime } from '../process/terminate.js';

/** Contents of `<home>/temporal.pid`; `startTime` guards against signalling a process that reused the pid. */
export interface EmbeddedRecord {
  pid: number;
  startTime: number;
  address: string;
  uiUrl: string | null;
  /** `host:port` of its HTTP API (`--http-port`); absent in records of servers started before it was recorded. */
  httpAddress?: string;
}

/** The embedded server's files under `home`. */
export const embeddedFiles = (home: string) => ({
  db: path.join(home, 'temporal.db'),
  log: path.join(home, 'temporal.log'),
  pid: path.join(home, 'temporal.pid'),
  lock: path.join(home, 'temporal.lock'),
});

async function readRecord(home: string): Promise<EmbeddedRecord | null> {
  try {
    const record = JSON.parse(await readFile(embeddedFiles(home).pid, 'utf8')) as Partial<EmbeddedRecord>;
    const valid = typeof record.pid === 'number' && typeof record.startTime === 'number' && typeof record.address === 'string';
    return valid ? (record as EmbeddedRecord) : null;
  } catch {
    return null;
  }
}

/** The recorded embedded server if that very process still runs; a stale record is removed. */
export async function liveRecord(home: string): Promise<EmbeddedRecord | null> {
  const record = await readRecord(home);
  if (record !== null && isProcessAlive(record.pid) && (await processStartTime(record.pid)) === record.startTime) {
    return record;
  }
  await rm(embeddedFiles(home).pid, { force: true });
  return null;
}

export async function writeRecord(home: string, record: EmbeddedRecord): Promise<void> {
  const file = embeddedFiles(home).pid;
  await writeFile(`${file}.tmp`, `${JSON.stringify(record)}\n`);
  await rename(`${file}.tmp`, file);
}

