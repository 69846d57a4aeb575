// `stackflow status [--json]`: the `status` query, with CPU and memory read here from /proc.
import { cpuPercent, sampleGroup } from '../../process/proc.js';
import type { ServiceStatus, StackStatus } from '../../model.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT } from '../errors.js';
import { formatBytes, formatDuration, table } from '../output.js';
import { openSession } from '../session.js';
import { loadStackOrExit } from '../stack-file.js';

export interface StatusOptions {
  config: string;
  json?: boolean;
}

const CPU_SAMPLE_MS = 200;

export async function status(options: StatusOptions): Promise<number> {
  const { spec } = await loadStackOrExit(options.config);
  const session = await openSession(spec.home, (line) => console.error(line));
  let current: StackStatus;
  try {
    current = (await session.stacks.status(spec.name)) ?? { stack: spec.name, state: 'stopped', services: {} };
  } finally {
    await session.close();
  }
  await addResourceUsage(current);
  console.log(options.json ? JSON.stringify(current, null, 2) : render(current));
  return EXIT.ok;
}

/** CPU % over a short window and RSS, per service process group, for processes on this host. */
async function addResourceUsage(current: StackStatus): Promise<void> {
  const live = Object.values(current.services).filter((s): s is ServiceStatus & { pid: number } => s.pid !== null);
  const before = await Promise.all(live.map((s) => sampleGroup(s.pid)));
  if (live.length) await sleep(CPU_SAMPLE_MS);
  const after = await Promise.all(live.map((s) => sampleGroup(s.pid)));
  live.forEach((s, i) => {
    s.cpuPercent = Math.round(cpuPercent(before[i], after[i]) * 10) / 10;
    s.memoryBytes = after[i].rssBytes;
  });
}

function render(current: StackStatus): string {
  const rows = Object.entries(current.services).map(([name, s]) => [
    name,
    s.state,
    s.pid ? String(s.pid) : '-',
    s.port ? String(s.port) : '-',
    String(s.restarts),
    s.healthyAt && s.pid ? formatDuration(Date.now() - Date.parse(s.healthyAt)) : '-',
    s.cpuPercent === null ? '-' : `${s.cpuPercent}%`,
    s.memoryBytes === null ? '-' : formatBytes(s.memoryBytes),
    s.error ?? '',
  ]);
  const header = `stack ${current.stack}: ${current.state}`;
  if (!rows.length) return header;
  return `${header}\n${table(['SERVICE', 'STATE', 'PID', 'PORT', 'RESTARTS', 'UPTIME', 'CPU', 'MEM', 'ERROR'], rows)}`;
}
