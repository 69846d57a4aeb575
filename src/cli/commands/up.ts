// `stackflow up [service...]`: validate, make sure Temporal and a worker are there, start the stack
// workflow (or add to it), follow the startup, then either return (-d) or show logs until Ctrl-C.
import { preflight, formatProblem } from '../../config/index.js';
import { planReload, type ReloadPlan } from '../../lifecycle/reload.js';
import type { StackSpec, StackStatus } from '../../model.js';
import { isSettled } from '../../lifecycle/status.js';
import { lookup } from '../../name-map.js';
import { withDependencies } from '../../graph/index.js';
import { dependencyMap } from '../../lifecycle/dependencies.js';
import { hostTaskQueue, stackWorkflowId } from '../../workflows/definitions.js';
import { DEFAULT_HOST } from '../../model.js';
import { CliError, EXIT } from '../errors.js';
import { logPositions, printLogs } from '../log-tail.js';
import { bold, dim, formatDuration, green, red, serviceErrorText, useColor, yellow } from '../output.js';
import { stoppedMeanwhile, unhealthyServices, watchUntilSettled } from '../progress.js';
import {
  ensureBackgroundWorker,
  hasBackgroundWorker,
  openSession,
  QUERY_DEADLINE_MS,
  startInProcessWorker,
  type InProcessWorker,
  type Session,
} from '../session.js';
import { loadStackOrExit, requireKnownServices, stackDir } from '../stack-file.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { drainStack, forceStop } from './down.js';
import { describeLeftovers, leftoverProcesses } from '../leftovers.js';
import { StartupView } from '../view/live.js';
import { buildTimeline, renderTimeline } from '../view/timeline.js';

export interface UpOptions {
  config: string;
  detach?: boolean;
  abortOnFailure?: boolean;
}

const say = (line: string) => console.log(line);

export async function up(services: string[], options: UpOptions): Promise<number> {
  const loaded = await loadStackOrExit(options.config);
  requireKnownServices(loaded, services);
  const { spec } = loaded;
  const targets = services.length ? withDependencies(dependencyMap(spec), services) : Object.keys(spec.services);

  const session = await openSession(spec.home, say, { createKey: true });
  try {
    if (session.uiUrl) say(`Temporal UI: ${session.uiUrl}/namespaces/${session.namespace}/workflows/${stackWorkflowId(spec.name)}`);
    // A running stack needs a worker before it can answer anything: one that died is replaced
    // first, and the new worker adopts the services (their run records name the processes).
    const wasRunning = await session.stacks.isRunning(spec.name);
    let worker: InProcessWorker | null | undefined;
    if (wasRunning) worker = await ensureWorker(spec.home, session, options);
    const running = wasRunning ? await queryAnswered(session, spec.name) : null;
    const alreadyUp = running ? Object.keys(running.services) : [];
    if (running) await suggestReload(session, spec, alreadyUp);
    const toStart = { ...spec, services: Object.fromEntries(targets.map((t) => [t, spec.services[t]])) };
    const problems = await preflight(toStart, { ignorePortsOf: alreadyUp });
    if (problems.length) throw new CliError(problems.map(formatProblem).join('\n') + (await leftoverHint(spec)), EXIT.usage);

    if (worker === undefined) worker = await ensureWorker(spec.home, session, options);
    const logOffsets = await logPositions(stackDir(loaded), targets);
    const started = Date.now();
    const { started: fresh } = await session.stacks.start(spec, services.length ? targets : []);
    say(`${fresh ? 'starting' : 'attaching to'} stack ${bold(spec.name)}: ${targets.length} service(s)`);

    // Ctrl-C during startup drains too: pending starts are cancelled by the workflow.
    const interrupted = options.detach ? undefined : interruption();
    // One line per service: redrawn in place on a terminal, one plain line per change elsewhere.
    const deps = dependencyMap(spec);
    const view = new StartupView({ stream: process.stdout, services: targets, deps, upStartedAt: started });
    view.start();
    const settled = await watchUntilSettled(session.stacks, spec.name, targets, () => undefined, interrupted?.signal, (s) => view.update(s))
      .catch((err: unknown) => {
        if (interrupted?.signal.aborted) return null;
        throw err;
      })
      .finally(() => view.finish());
    if (!settled) {
      interrupted?.dispose();
      return await drainOrForce(session, spec, 'interrupted during startup', worker);
    }
    if (stoppedMeanwhile(settled)) {
      interrupted?.dispose();
      await worker?.stop();
      // `stopped` is not success for `up`: someone drained the stack while it started.
      throw new CliError(`stack ${spec.name} was stopped while starting (state ${settled.state}: a \`stackflow down\` elsewhere?)`, EXIT.failure);
    }
    for (const line of renderTimeline(buildTimeline(settled.services, targets, deps, started), useColor())) say(line);
    const broken = unhealthyServices(settled, targets);
    for (const [name, s] of broken) say(red(serviceErrorText(name, s.error ?? 'no reason recorded', s.state)));
    // Nothing was started: every target was already settled, and not stopped (`up` starts those again).
    const attached = !fresh && targets.every((name) => {
      const before = lookup(running?.services, name);
      return before !== undefined && before.state !== 'stopped' && isSettled([before]);
    });
    const outcome = attached ? `stack ${spec.name} is already running: ${countStates(settled, targets)}` : `stack ${spec.name} is up in ${formatDuration(Date.now() - started)}`;

    if (options.detach) {
      if (!broken.length) say(green(outcome));
      return broken.length ? EXIT.failure : EXIT.ok;
    }
    if (broken.length && options.abortOnFailure) {
      interrupted?.dispose();
      say(yellow('--abort-on-failure: draining the stack'));
      await drainStack(session, spec.name, 'a service failed (--abort-on-failure)');
      await worker?.stop();
      return EXIT.failure;
    }
    say(green(outcome) + dim(' (Ctrl-C to stop)'));
    // Like compose's attached `up`: the logs follow until Ctrl-C, or until the stack workflow
    // completes because another terminal drained it.
    const completed = new AbortController();
    const watching = untilCompleted(session, spec.name, interrupted!.signal).then(() => completed.abort());
    const until = AbortSignal.any([interrupted!.signal, completed.signal]);
    await printLogs(stackDir(loaded), targets, { lines: null, follow: true, signal: until, from: logOffsets });
    // No call of the watcher may be in flight when the drain and the session's close come.
    await watching;
    interrupted!.dispose();
    if (!interrupted!.signal.aborted) {
      say(yellow(`stack ${spec.name} was stopped elsewhere (its workflow completed): exiting`));
      await worker?.stop();
      return EXIT.ok;
    }
    return await drainOrForce(session, spec, 'interrupted (Ctrl-C)', worker);
  } finally {
    await session.close();
  }
}

/** `6 healthy, 1 completed`: the targets counted by state, in the order states first appear. */
function countStates(status: StackStatus, targets: string[]): string {
  const counts = new Map<string, number>();
  for (const name of targets) {
    const state = lookup(status.services, name)?.state ?? 'pending';
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  return [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
}

/**
 * The drain after Ctrl-C; a second Ctrl-C (or SIGTERM) during it switches to a forced stop, as
 * compose's: the workflow is terminated and every process group of the stack SIGKILLed (exit 130).
 */
async function drainOrForce(session: Session, spec: StackSpec, reason: string, worker: InProcessWorker | null): Promise<number> {
  // Listening before saying so: a Ctrl-C right after the message must find the handler in place.
  const again = interruption();
  say(yellow(`draining stack ${spec.name}... (press Ctrl-C again to force)`));
  const drained = drainStack(session, spec.name, reason).then(() => 'drained' as const);
  const outcome = await Promise.race([drained, abortedOnce(again.signal)]);
  again.dispose();
  if (outcome === 'drained') {
    await worker?.stop();
    return EXIT.ok;
  }
  drained.catch(() => undefined);
  say(red(`forced stop: killing the processes of stack ${spec.name}`));
  const killed = await forceStop(session, spec.home, spec.name, 'forced stop (second Ctrl-C)');
  say(red(`killed ${killed.length} service process group(s)`));
  return EXIT.interrupted;
}

const abortedOnce = (signal: AbortSignal) => new Promise<'forced'>((resolve) => signal.addEventListener('abort', () => resolve('forced'), { once: true }));

/** How often a foreground `up` checks whether its stack workflow is still running. */
const COMPLETION_POLL_MS = 1_000;

/** Resolves once the stack workflow is no longer running, or at once when `signal` aborts. */
async function untilCompleted(session: Session, stack: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await sleep(COMPLETION_POLL_MS, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    // A server that does not answer for a moment is not a stopped stack: asked again next time.
    if (!(await session.stacks.isRunning(stack).catch(() => true))) return;
  }
}

/** A running stack answers once its worker polls; the query is bounded meanwhile. */
async function queryAnswered(session: Session, stack: string) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await session.stacks.status(stack, QUERY_DEADLINE_MS);
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
}

/** With a port taken, the processes an earlier run of this stack left behind are named, with the way out. */
async function leftoverHint(spec: StackSpec): Promise<string> {
  const left = (await leftoverProcesses(spec.home, spec.name)).filter((p) => p.service !== null);
  if (!left.length) return '';
  return `\n${left.length} process(es) of stack ${spec.name} from an earlier run still run, with no workflow tracking them:\n${describeLeftovers(left)}\n\`stackflow down\` stops them.`;
}

async function ensureWorker(home: string, session: Session, options: UpOptions): Promise<InProcessWorker | null> {
  if (!(await hasBackgroundWorker(home))) await warnOfAnotherWorker(session);
  return options.detach ? backgroundWorker(home, session) : foregroundWorker(home, session);
}

/**
 * A worker of this host already running outside this home (`npm run worker` in another terminal,
 * another project's background worker) shares the host's task queue with the one `up` is about to
 * start: each then sees only its own services get ready, and a dependent placed on the other waits
 * for the stack workflow's fallback (~3 s) instead of its host's readiness bus. Said, not refused.
 */
async function warnOfAnotherWorker(session: Session): Promise<void> {
  const other = await session.stacks.localWorkerPid(hostTaskQueue(session.taskQueue, DEFAULT_HOST)).catch(() => null);
  if (other === null) return;
  say(
    yellow(
      `note: worker pid ${other} already serves host "${DEFAULT_HOST}" on task queue ${session.taskQueue}; with a second one dependency hand-offs take the slow path (~3 s each). ` +
        'Run one worker per host: stop the other, or give this home its own STACKFLOW_TASK_QUEUE.',
    ),
  );
}

/** Aborts on the first SIGINT/SIGTERM (foreground only: with -d the signals keep their default). */
function interruption(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

async function backgroundWorker(home: string, session: Session): Promise<InProcessWorker | null> {
  const { pid, started } = await ensureBackgroundWorker(home, session);
  say(dim(started ? `worker started in the background (pid ${pid})` : `using the background worker (pid ${pid})`));
  return null;
}

/** The foreground `up` runs its own worker unless a background one already serves this home. */
async function foregroundWorker(home: string, session: Session): Promise<InProcessWorker | null> {
  return (await hasBackgroundWorker(home)) ? null : startInProcessWorker(session, home);
}

/** `up` attaches to a running stack as it is; an edited stack file is applied by `reload` only. */
async function suggestReload(session: Session, spec: StackSpec, running: string[]): Promise<void> {
  const plan = planReload(await session.stacks.runningSpec(spec.name), spec, running);
  if (plan.removed.length + plan.changed.length === 0) return;
  say(yellow(`the stack file differs from the running stack (${describeChanges(plan)}): run \`stackflow reload\` to apply it`));
}

function describeChanges(plan: ReloadPlan): string {
  return [
    plan.changed.length ? `changed: ${plan.changed.join(', ')}` : '',
    plan.removed.length ? `removed: ${plan.removed.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}
