// `stackflow up [service...]`: validate, make sure Temporal and a worker are there, start the stack
// workflow (or add to it), follow the startup, then either return (-d) or show logs until Ctrl-C.
import { preflight, formatProblem } from '../../config/index.js';
import { planReload, type ReloadPlan } from '../../lifecycle/reload.js';
import type { StackSpec, StackStatus } from '../../model.js';
import { isSettled } from '../../lifecycle/status.js';
import { lookup } from '../../name-map.js';
import { withDependencies } from '../../graph/index.js';
import { dependencyMap } from '../../lifecycle/dependencies.js';
import { stackWorkflowId } from '../../workflows/definitions.js';
import { CliError, EXIT } from '../errors.js';
import { logPositions, printLogs } from '../log-tail.js';
import { bold, dim, formatDuration, green, red, useColor, yellow } from '../output.js';
import { unhealthyServices, watchUntilSettled } from '../progress.js';
import {
  ensureBackgroundWorker,
  hasBackgroundWorker,
  openSession,
  startInProcessWorker,
  type InProcessWorker,
  type Session,
} from '../session.js';
import { loadStackOrExit, requireKnownServices, stackDir } from '../stack-file.js';
import { drainStack } from './down.js';
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
    const running = await session.stacks.status(spec.name);
    const alreadyUp = running ? Object.keys(running.services) : [];
    if (running) await suggestReload(session, spec, alreadyUp);
    const toStart = { ...spec, services: Object.fromEntries(targets.map((t) => [t, spec.services[t]])) };
    const problems = await preflight(toStart, { ignorePortsOf: alreadyUp });
    if (problems.length) throw new CliError(problems.map(formatProblem).join('\n'), EXIT.usage);

    const worker = options.detach ? await backgroundWorker(spec.home, session) : await foregroundWorker(spec.home, session);
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
      say(yellow(`interrupted: draining stack ${spec.name}...`));
      await drainStack(session, spec.name, 'interrupted during startup');
      await worker?.stop();
      return EXIT.ok;
    }
    for (const line of renderTimeline(buildTimeline(settled.services, targets, deps, started), useColor())) say(line);
    const broken = unhealthyServices(settled, targets);
    for (const [name, s] of broken) say(red(`${name}: ${s.state}: ${s.error ?? 'no reason recorded'}`));
    // Nothing was started: every target was already settled before this `up`.
    const attached = !fresh && targets.every((name) => {
      const before = lookup(running?.services, name);
      return before !== undefined && isSettled([before]);
    });
    const outcome = attached ? `stack ${spec.name} is already running: ${countStates(settled, targets)}` : `stack ${spec.name} is up in ${formatDuration(Date.now() - started)}`;

    if (options.detach) {
      if (!broken.length) say(green(outcome));
      return broken.length ? EXIT.failure : EXIT.ok;
    }
    if (broken.length && options.abortOnFailure) {
      say(yellow('--abort-on-failure: draining the stack'));
      await drainStack(session, spec.name, 'a service failed (--abort-on-failure)');
      await worker?.stop();
      return EXIT.failure;
    }
    say(green(outcome) + dim(' (Ctrl-C to stop)'));
    await printLogs(stackDir(loaded), targets, { lines: null, follow: true, signal: interrupted?.signal, from: logOffsets });
    interrupted?.dispose();
    say(yellow(`draining stack ${spec.name}...`));
    await drainStack(session, spec.name, 'interrupted (Ctrl-C)');
    await worker?.stop();
    return EXIT.ok;
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
