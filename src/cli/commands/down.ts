// `stackflow down`: drain the stack in reverse dependency order and stop the background worker.
import type { StackStatus } from '../../model.js';
import { stopEmbedded } from '../../temporal/index.js';
import { CliError, EXIT } from '../errors.js';
import { parseDuration } from '../../config/index.js';
import { dim, formatDuration, green, yellow } from '../output.js';
import { hasBackgroundWorker, openSession, startInProcessWorker, stopBackgroundWorker, type Session } from '../session.js';
import { locateStackOrExit } from '../stack-file.js';
import { eventLines, followEvents } from '../progress.js';
import { escapeControl } from '../../config/index.js';
import { describeState } from './status.js';

export interface DownOptions {
  config: string;
  /** The stack's name (compose's -p/--project-name): the stack file is then not read at all. */
  projectName?: string;
  all?: boolean;
  timeout?: string;
}

const say = (line: string) => console.log(line);

export async function down(options: DownOptions): Promise<number> {
  const spec = locateStackOrExit(options);
  const budgetMs = options.timeout === undefined ? undefined : parseDuration(options.timeout);
  if (options.timeout !== undefined && budgetMs === undefined) {
    throw new CliError(escapeControl(`--timeout: invalid duration "${options.timeout}" (use e.g. 250ms, 2s, 1m)`), EXIT.usage);
  }
  const session = await openSession(spec.home, say);
  let final: StackStatus | null = null;
  const began = Date.now();
  try {
    // Draining needs a worker; when none runs (the foreground `up` died), this command brings one.
    const worker = (await hasBackgroundWorker(spec.home)) ? null : await startInProcessWorker(session, spec.home);
    if (budgetMs !== undefined) {
      const outcome = await session.stacks.shutdownWithin(spec.name, 'stackflow down', budgetMs);
      if (outcome.unfinished) {
        // Leave the background worker: the drain goes on in the workflow and needs the hosts' workers.
        await worker?.stop();
        throw new CliError(notStopped(outcome.unfinished, budgetMs), EXIT.failure);
      }
      final = outcome.drained;
      reportDrained(spec.name, final, Date.now() - began);
    } else {
      final = await drainStack(session, spec.name, 'stackflow down');
    }
    await worker?.stop();
    if (!final) say(dim(`stack ${spec.name} is not running`));
    if (await stopBackgroundWorker(spec.home)) say(dim('background worker stopped'));
  } finally {
    await session.close();
  }
  if (options.all && (await stopEmbedded(spec.home))) say(dim('embedded Temporal server stopped'));
  // SPEC §4: no process the stack started may outlive `down`; one that did is named above.
  return leftRunning(final).length ? EXIT.failure : EXIT.ok;
}

/** The services whose stop left processes running, as `name: pid 12 (cmd)` lines' subjects. */
export function leftRunning(final: StackStatus | null): string[] {
  return Object.entries(final?.services ?? {})
    .filter(([, s]) => s.leftRunning?.length)
    .map(([name]) => name);
}

/**
 * Drains the stack and waits for its workflow's end, printing each service as it stops
 * (`api_gateway stopped +120ms`, from the drain's start); null when the stack was not running.
 */
export async function drainStack(session: Session, stack: string, reason: string, budgetMs?: number): Promise<StackStatus | null> {
  const started = Date.now();
  const first = await session.stacks.status(stack).catch(() => null);
  const following = new AbortController();
  const seen = first ? followEvents(session.stacks, stack, first.services, (line) => say(dim(line)), following.signal, started) : null;
  const final = await session.stacks.shutdown(stack, reason, budgetMs).finally(() => following.abort());
  const last = await seen;
  if (final && last) for (const line of eventLines(last, final.services, started)) say(dim(line));
  reportDrained(stack, final, Date.now() - started);
  return final;
}

/** What the drain left to say: services that failed or carry an error, processes that outlived it, or how long it took. */
function reportDrained(stack: string, final: StackStatus | null, ms: number): void {
  for (const [name, s] of Object.entries(final?.services ?? {})) {
    if (s.state === 'failed' || s.error) say(yellow(escapeControl(`${name}: ${s.state}: ${s.error ?? ''}`)));
  }
  const left = leftRunning(final);
  if (left.length) say(yellow(escapeControl(`processes of ${left.join(', ')} outlived the drain (named above): stop them by hand`)));
  else if (final) say(green(`stack ${stack} stopped in ${formatDuration(ms)}`));
}

/** What `down --timeout` could not stop, each with its host and why (its host's worker gone, or waiting for its dependents). */
export function notStopped(unfinished: StackStatus, budgetMs: number): string {
  const lines = Object.entries(unfinished.services).map(([name, s]) => {
    const why = s.state === 'unknown' ? describeState(s) : `${s.state}${s.pid ? ` (pid ${s.pid})` : ''}`;
    return escapeControl(`  ${name} on host ${s.host}: ${why}`);
  });
  return [
    `stack ${unfinished.stack}: not stopped after ${formatDuration(budgetMs)}:`,
    ...lines,
    'The drain goes on: it finishes when the hosts named above have their `stackflow worker` running again.',
  ].join('\n');
}
