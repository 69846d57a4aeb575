// Following a stack's startup through the `status` query until every wanted service has settled.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceStatus, StackStatus } from '../model.js';
import type { StackClient } from '../client.js';
import { isSettled } from '../lifecycle/status.js';
import { retryLine, stoppedLine, type ServiceEvent } from './view/events.js';
import { lookup } from '../name-map.js';

export type ServiceChange = (name: string, now: ServiceStatus, before: ServiceStatus | undefined) => void;

const POLL_MS = 50;

/**
 * Polls `status` and reports each service's state changes; resolves once `services` have settled.
 * `onStatus` sees every answer (the live view redraws its clock from them).
 */
export async function watchUntilSettled(
  stacks: StackClient,
  stack: string,
  services: string[],
  onChange: ServiceChange,
  signal?: AbortSignal,
  onStatus?: (status: StackStatus) => void,
): Promise<StackStatus> {
  const seen = new Map<string, ServiceStatus>();
  for (;;) {
    signal?.throwIfAborted();
    const status = await queryWhenAnswered(stacks, stack);
    for (const [name, current] of Object.entries(status.services)) {
      const before = seen.get(name);
      if (!before || before.state !== current.state || before.restarts !== current.restarts) onChange(name, current, before);
      seen.set(name, current);
    }
    onStatus?.(status);
    const watched = services.map((s) => status.services[s]).filter((s): s is ServiceStatus => s !== undefined);
    if (watched.length === services.length && isSettled(watched)) return status;
    await sleep(POLL_MS);
  }
}

/** A query needs a worker: right after `up` starts one, the first queries may fail. */
async function queryWhenAnswered(stacks: StackClient, stack: string): Promise<StackStatus> {
  for (let attempt = 0; ; attempt++) {
    try {
      const status = await stacks.status(stack);
      if (status) return status;
      throw new Error(`stack ${stack} is not running`);
    } catch (err) {
      if (attempt >= 200) throw err;
      await sleep(POLL_MS);
    }
  }
}

export function unhealthyServices(status: StackStatus, services: string[]): [string, ServiceStatus][] {
  return services
    .map((name) => [name, lookup(status.services, name)] as [string, ServiceStatus])
    .filter(([, s]) => s && (s.state === 'failed' || s.state === 'blocked'));
}

/**
 * The event lines between two `status` answers, in the order they happened: each new crash back-off
 * and each service that stopped (its time from `since`, epoch ms).
 */
export function eventLines(
  before: Readonly<Record<string, ServiceStatus>>,
  now: Readonly<Record<string, ServiceStatus>>,
  since: number,
): string[] {
  const seenAt = Date.now();
  return Object.entries(now)
    .flatMap(([name, s]) => [retryLine(name, s, lookup(before, name)), stoppedLine(name, s, lookup(before, name), since, seenAt)])
    .filter((e): e is ServiceEvent => e !== null)
    .sort((a, b) => a.at - b.at)
    .map((e) => e.line);
}

/**
 * Polls `status` until `signal` aborts and prints (`say`) the event lines of every change, from
 * `first` on (the answer before the operation began). Resolves with the last answer's services,
 * for the caller to compare with the operation's final status.
 */
export async function followEvents(
  stacks: StackClient,
  stack: string,
  first: Record<string, ServiceStatus>,
  say: (line: string) => void,
  signal: AbortSignal,
  since = Date.now(),
): Promise<Record<string, ServiceStatus>> {
  let before = first;
  while (!signal.aborted) {
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
    const current = await stacks.status(stack).catch(() => null);
    if (!current || signal.aborted) continue;
    for (const line of eventLines(before, current.services, since)) say(line);
    before = current.services;
  }
  return before;
}
