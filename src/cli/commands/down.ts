// `stackflow down`: drain the stack in reverse dependency order and stop the background worker.
import type { StackStatus } from '../../model.js';
import { EmbeddedDatabaseLostError, stopEmbedded } from '../../temporal/index.js';
import { CliError, EXIT } from '../errors.js';
import { parseDuration } from '../../config/index.js';
import { dim, formatDuration, green, serviceErrorText, yellow } from '../output.js';
import { findSession, hasBackgroundWorker, noServerMessage, startInProcessWorker, stopBackgroundWorker, type Session } from '../session.js';
import { locateStackOrExit } from '../locate-stack.js';
import { eventLines, followEvents } from '../progress.js';
import { escapeControl } from '../../config/index.js';
import { describeLeftovers, leftoverProcesses, otherStacks, recordedProcesses, recordedServices, stopLeftovers, type Leftover } from '../leftovers.js';
import { describeState } from './status.js';

export interface DownOptions {
  config: string;
  /** The stack's name (compose's -p/--project-name): the stack file is then not read at all. */
  projectName?: string;
  all?: boolean;
  timeout?: string;
}

const say = (line: string) => console.log(line);

/** Without --timeout, how long `down` waits for the drain before it stops the processes itself. */
const DEFAULT_DRAIN_LIMIT_MS = 60_000;
/** Beyond the drain's budget: the workflow's own SIGKILL of what is still stopping, and the reports. */
const DRAIN_SLACK_MS = 10_000;
/** SIGTERM to SIGKILL for processes `down` stops itself (no workflow tracks them any more). */
const LEFTOVER_GRACE_MS = 5_000;

export async function down(options: DownOptions): Promise<number> {
  const spec = await locateStackOrExit(options);
  const budgetMs = options.timeout === undefined ? undefined : parseDuration(options.timeout);
  if (options.timeout !== undefined && budgetMs === undefined) {
    throw new CliError(escapeControl(`--timeout: invalid duration "${options.timeout}" (use e.g. 250ms, 2s, 1m)`), EXIT.usage);
  }
  let session: Session | null;
  try {
    session = await findSession(spec.home, say);
  } catch (err) {
    // `rm -rf .stackflow` under a running embedded server: nothing to drain, but processes to stop.
    if (!(err instanceof EmbeddedDatabaseLostError)) throw err;
    say(yellow(err.message));
    session = null;
  }
  let code: number = EXIT.ok;
  let final: StackStatus | null = null;
  const began = Date.now();
  /** The other stacks the home's background worker serves (it stays for them); null: Temporal could not tell. */
  let served: string[] | null = [];
  if (!session) {
    if (!options.all) say(dim(noServerMessage(spec.name)));
  } else {
    try {
      // Draining needs a worker; when none runs (the foreground `up` died), this command brings one.
      const worker = (await hasBackgroundWorker(spec.home)) ? null : await startInProcessWorker(session, spec.home);
      if (budgetMs !== undefined) {
        // With a budget: what a host could not stop in it (its worker gone) is named with its host, exit 1;
        // the drain goes on in the workflow and ends when that host's worker is back (SPEC §7).
        const outcome = await session.stacks.shutdownWithin(spec.name, 'stackflow down', budgetMs);
        if (outcome.unfinished) {
          await worker?.stop();
          throw new CliError(notStopped(outcome.unfinished, budgetMs), EXIT.failure);
        }
        final = outcome.drained;
        reportDrained(spec.name, final, Date.now() - began);
        if (!final) await notRunning(session, spec.home, spec.name);
      } else {
        // Without one, `down` never hangs: past the default limit it stops the processes itself.
        const limitMs = DEFAULT_DRAIN_LIMIT_MS + DRAIN_SLACK_MS;
        const drained = await withinMs(drainStack(session, spec.name, 'stackflow down'), limitMs);
        if (drained === TIMED_OUT) {
          say(yellow(`the drain did not finish within ${formatDuration(limitMs)}: stopping the stack's processes`));
          await forceStop(session, spec.home, spec.name, `stackflow down: the drain took over ${formatDuration(limitMs)}`);
          code = EXIT.failure;
        } else if (!drained) await notRunning(session, spec.home, spec.name);
        else final = drained;
      }
      await withinMs(worker?.stop() ?? Promise.resolve(), LEFTOVER_GRACE_MS);
      served = await otherStacks(session.stacks, spec.name, spec.home);
      if (served === null) say(yellow('could not tell whether other stacks of this home run: the background worker is kept'));
      else if (served.length) say(dim(`background worker kept: it serves stack ${served.join(', ')}`));
      else if (await stopBackgroundWorker(spec.home)) say(dim('background worker stopped'));
    } finally {
      await session.close();
    }
  }
  await stopStragglers(spec.home, spec.name, served === null || served.length > 0);
  if (options.all && (await stopEmbedded(spec.home))) say(dim('embedded Temporal server stopped'));
  // SPEC §4: no process the stack started may outlive `down`; one that did is named above.
  return leftRunning(final).length ? EXIT.failure : code;
}

/** The services whose stop left processes running, as `name: pid 12 (cmd)` lines' subjects. */
export function leftRunning(final: StackStatus | null): string[] {
  return Object.entries(final?.services ?? {})
    .filter(([, s]) => s.leftRunning?.length)
    .map(([name]) => name);
}

/**
 * The stack workflow is not running; service workflows that outlived it (a forced stop of an older
 * stackflow, a terminate from the Web UI) are terminated, so the next `up` can start them again.
 */
async function notRunning(session: Session, home: string, stack: string): Promise<void> {
  say(dim(`stack ${stack} is not running`));
  if (await terminateWorkflows(session, home, stack, 'stackflow down: its stack workflow is gone')) {
    say(yellow(`terminated the service workflows of stack ${stack} that ran without their stack workflow`));
  }
}

/**
 * What no workflow tracks any more (a killed worker, a removed home) but carries the stack's
 * marker; the home's background worker only when `workerServes` is false (no other stack runs).
 */
async function stopStragglers(home: string, stack: string, workerServes: boolean): Promise<void> {
  const left = (await leftoverProcesses(home, stack)).filter((p) => !workerServes || p.service !== null);
  if (!left.length) return;
  say(yellow(`stopping ${left.length} process(es) of stack ${stack} that no workflow tracks:\n${describeLeftovers(left)}`));
  await stopLeftovers(left, LEFTOVER_GRACE_MS);
}

const TIMED_OUT = Symbol('timed out');

async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(() => resolve(TIMED_OUT), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long terminating the workflow may take during a forced stop. */
const TERMINATE_DEADLINE_MS = 3_000;

/**
 * The forced stop (compose's second Ctrl-C): terminate the stack workflow and every running
 * service workflow of the stack (terminateStack) so nothing restarts what is killed and a next `up`
 * finds no workflow in its way, then SIGKILL the process group of every service process the run
 * records or the stack's marker prove ours. The background worker stays.
 */
export async function forceStop(session: Session | null, home: string, stack: string, reason: string): Promise<Leftover[]> {
  if (session) await terminateWorkflows(session, home, stack, reason);
  const services = (await leftoverProcesses(home, stack)).filter((p) => p.service !== null);
  const recorded = await recordedProcesses(home, stack);
  const all = [...new Map([...services, ...recorded].map((p) => [p.pid, p])).values()];
  await stopLeftovers(all, 0);
  return all;
}

/**
 * Terminates what runs of the stack's workflows, within TERMINATE_DEADLINE_MS; true when some ran.
 * What fails or runs late is left: the processes are stopped all the same.
 */
async function terminateWorkflows(session: Session, home: string, stack: string, reason: string): Promise<boolean> {
  const services = await recordedServices(home, stack);
  const terminated = await session.client.connection
    .withDeadline(Date.now() + TERMINATE_DEADLINE_MS, () => session.stacks.terminateStack(stack, reason, services))
    .catch(() => [] as string[]);
  return terminated.length > 0;
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
    if (s.state === 'failed' || s.error) say(yellow(serviceErrorText(name, s.error ?? 'no reason recorded', s.state)));
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
