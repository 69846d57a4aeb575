// The lines `up`, `reload` and `down` print for what happens to a service between two `status`
// answers (pure): a crash back-off (`viz exited (code 1) during start; retry 2/5 in 4.0s`, or with the
// cause of a start that never ran: `data: not started: port 8001 is held by pid 12233 (…); retry 2/5 in 4s`) and a stop
// during a drain (`api_gateway stopped +120ms`).
import { describeExitShort } from '../../lifecycle/backoff.js';
import type { ServiceStatus } from '../../model.js';
import { formatDuration } from '../output.js';

/** A line and when what it tells happened (epoch ms), to print several in the order they happened. */
export interface ServiceEvent {
  at: number;
  line: string;
}

/** One line per new back-off of `name` since `before` (the previous answer; undefined: none yet). */
export function retryLine(name: string, now: ServiceStatus, before: ServiceStatus | undefined): ServiceEvent | null {
  const b = now.backoff;
  if (!b || before?.backoff?.at === b.at) return null;
  const retry = `retry ${b.attempt}/${b.maxAttempts} in ${formatDuration(b.delayMs)}`;
  if (b.cause) return { at: Date.parse(b.at), line: `${name}: ${b.cause}; ${retry}` };
  const during = b.duringStart ? ' during start' : '';
  return { at: Date.parse(b.at), line: `${name} ${describeExitShort(now.lastExit)}${during}; ${retry}` };
}

/**
 * The line of a service that has stopped since `before`: the time is from `since` (epoch ms: when the
 * drain began) to its process's exit as the worker recorded it, else to `seenAt`.
 */
export function stoppedLine(name: string, now: ServiceStatus, before: ServiceStatus | undefined, since: number, seenAt: number): ServiceEvent | null {
  if (now.state !== 'stopped' || before?.state === 'stopped' || !before) return null;
  const exitAt = now.lastExit ? Date.parse(now.lastExit.at) : NaN;
  const at = Number.isFinite(exitAt) && exitAt >= since ? exitAt : seenAt;
  return { at, line: `${name} stopped +${formatDuration(Math.max(0, at - since))}` };
}
