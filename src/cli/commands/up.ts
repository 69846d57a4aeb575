// `stackflow up [service...]`: validate, make sure Temporal and a worker are there, start the stack
// workflow (or add to it), follow the startup, then either return (-d) or show logs until Ctrl-C.
import { preflight, formatProblem } from '../../config/index.js';
import { withDependencies } from '../../graph/index.js';
import { dependencyMap } from '../../lifecycle/dependencies.js';
import type { ServiceStatus } from '../../model.js';
import { stackWorkflowId } from '../../workflows/definitions.js';
import { CliError, EXIT } from '../errors.js';
import { fileSize, logFile, printLogs } from '../log-tail.js';
import { bold, dim, formatDuration, green, red, yellow } from '../output.js';
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

  const session = await openSession(spec.home, say);
  try {
    if (session.uiUrl) say(`Temporal UI: ${session.uiUrl}/namespaces/${session.namespace}/workflows/${stackWorkflowId(spec.name)}`);
    const running = await session.stacks.status(spec.name);
    const alreadyUp = running ? Object.keys(running.services) : [];
    const toStart = { ...spec, services: Object.fromEntries(targets.map((t) => [t, spec.services[t]])) };
    const problems = await preflight(toStart, { ignorePortsOf: alreadyUp });
    if (problems.length) throw new CliError(problems.map(formatProblem).join('\n'), EXIT.usage);

    const worker = options.detach ? await backgroundWorker(spec.home, session) : await foregroundWorker(spec.home, session);
    const logOffsets = new Map(await Promise.all(targets.map(async (t) => [t, await fileSize(logFile(stackDir(loaded), t))] as const)));
    const started = Date.now();
    const { started: fresh } = await session.stacks.start(spec, services.length ? targets : []);
    say(`${fresh ? 'starting' : 'attaching to'} stack ${bold(spec.name)}: ${targets.length} service(s)`);

    // Ctrl-C during startup drains too: pending starts are cancelled by the workflow.
    const interrupted = options.detach ? undefined : interruption();
    const settled = await watchUntilSettled(session.stacks, spec.name, targets, printChange(started), interrupted?.signal).catch(
      (err: unknown) => {
        if (interrupted?.signal.aborted) return null;
        throw err;
      },
    );
    if (!settled) {
      say(yellow(`interrupted: draining stack ${spec.name}...`));
      await drainStack(session, spec.name, 'interrupted during startup');
      await worker?.stop();
      return EXIT.ok;
    }
    const broken = unhealthyServices(settled, targets);
    for (const [name, s] of broken) say(red(`${name}: ${s.state}: ${s.error ?? 'no reason recorded'}`));

    if (options.detach) {
      if (!broken.length) say(green(`stack ${spec.name} is up in ${formatDuration(Date.now() - started)}`));
      return broken.length ? EXIT.failure : EXIT.ok;
    }
    if (broken.length && options.abortOnFailure) {
      say(yellow('--abort-on-failure: draining the stack'));
      await drainStack(session, spec.name, 'a service failed (--abort-on-failure)');
      await worker?.stop();
      return EXIT.failure;
    }
    say(green(`stack ${spec.name} is up in ${formatDuration(Date.now() - started)}`) + dim(' (Ctrl-C to stop)'));
    await printLogs(stackDir(loaded), targets, { lines: null, follow: true, signal: interrupted?.signal, fromOffsets: logOffsets });
    interrupted?.dispose();
    say(yellow(`draining stack ${spec.name}...`));
    await drainStack(session, spec.name, 'interrupted (Ctrl-C)');
    await worker?.stop();
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

function printChange(started: number) {
  return (name: string, now: ServiceStatus) => {
    const elapsed = dim(`+${formatDuration(Date.now() - started)}`);
    const restarts = now.restarts ? dim(` restarts ${now.restarts}`) : '';
    const pid = now.pid ? dim(` pid ${now.pid}`) : '';
    const state = now.state === 'healthy' || now.state === 'completed' ? green(now.state) : now.state === 'failed' || now.state === 'blocked' ? red(now.state) : now.state;
    say(`  ${name.padEnd(20)} ${state.padEnd(10)} ${elapsed}${pid}${restarts}`);
  };
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
  return (await hasBackgroundWorker(home)) ? null : startInProcessWorker(session);
}
