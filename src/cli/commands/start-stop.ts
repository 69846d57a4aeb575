// `stackflow start <service...>` and `stackflow stop <service...>` (compose's verbs): through the
// running stack workflow's `startServices` and `stopServices` updates.
import { withDependencies } from '../../graph/index.js';
import { dependencyMap } from '../../lifecycle/dependencies.js';
import type { LoadedStack } from '../../config/index.js';
import { CliError, EXIT } from '../errors.js';
import { formatDuration, green, red, serviceErrorText } from '../output.js';
import { stoppedMeanwhile, unhealthyServices, watchUntilSettled } from '../progress.js';
import { findSession, noServerMessage, requireWorker, type Session } from '../session.js';
import { loadStackOrExit, requireKnownServices } from '../stack-file.js';
import { parseDuration, escapeControl, formatProblem, preflight } from '../../config/index.js';
import { lookup } from '../../name-map.js';

/** A running stack with a worker, or the sentence why not (exit 1); never starts a server. */
async function runningStack(services: string[], config: string): Promise<{ loaded: LoadedStack; session: Session }> {
  const loaded = await loadStackOrExit(config);
  requireKnownServices(loaded, services);
  const { name, home } = loaded.spec;
  const session = await findSession(home, (line) => console.error(line));
  if (!session) throw new CliError(`${noServerMessage(name)}; start it with \`stackflow up\``, EXIT.failure);
  try {
    if (!(await session.stacks.isRunning(name))) throw new CliError(`stack ${name} is not running (start it with \`stackflow up\`)`, EXIT.failure);
    await requireWorker(session, name);
  } catch (err) {
    await session.close();
    throw err;
  }
  return { loaded, session };
}

/**
 * Starts services (and what they depend on) in the running stack; returns once they have settled.
 * As `up` does, checks first what would stop the ones not running from starting (a port another
 * process holds: exit 2 naming the holder). Names only the services this command started.
 */
export async function start(services: string[], options: { config: string }): Promise<number> {
  const { loaded, session } = await runningStack(services, options.config);
  const { spec } = loaded;
  try {
    const began = Date.now();
    const targets = withDependencies(dependencyMap(spec), services);
    const before = (await session.stacks.status(spec.name))?.services ?? {};
    // The stack workflow starts again only the services that are stopped (or not there yet).
    const toStart = targets.filter((t) => (lookup(before, t)?.state ?? 'stopped') === 'stopped');
    if (!toStart.length) {
      // Nothing to start: say what each named service is doing; one that failed is not started again here.
      const given = services.map((s) => [s, lookup(before, s)!.state] as const);
      const ended = given.filter(([, state]) => state === 'failed' || state === 'blocked' || state === 'completed');
      const running = given.filter(([s]) => !ended.some(([e]) => e === s)).map(([s]) => s);
      if (running.length) console.log(`${running.join(', ')} ${running.length === 1 ? 'is' : 'are'} already running`);
      for (const [s, state] of ended) (state === 'completed' ? console.log : console.error)(`${s} is ${state}; \`stackflow restart ${s}\` starts it again`);
      return ended.some(([, state]) => state !== 'completed') ? EXIT.failure : EXIT.ok;
    }
    const problems = await preflight({ ...spec, services: Object.fromEntries(toStart.map((t) => [t, spec.services[t]!])) });
    if (problems.length) throw new CliError(problems.map(formatProblem).join('\n'), EXIT.usage);
    await session.stacks.start(spec, targets);
    const settled = await watchUntilSettled(session.stacks, spec.name, targets, () => undefined);
    if (stoppedMeanwhile(settled)) throw new CliError(`stack ${spec.name} was stopped meanwhile (state ${settled.state})`, EXIT.failure);
    const broken = unhealthyServices(settled, targets);
    for (const [name, s] of broken) console.error(red(serviceErrorText(name, s.error ?? 'no reason recorded', s.state)));
    if (broken.length) return EXIT.failure;
    console.log(green(`started ${toStart.join(', ')} in ${formatDuration(Date.now() - began)}`));
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

/** Stops services and keeps them stopped while the stack runs on; `start` brings them back. */
export async function stop(services: string[], options: { config: string; timeout?: string }): Promise<number> {
  const timeoutMs = options.timeout === undefined ? undefined : parseDuration(options.timeout);
  if (options.timeout !== undefined && timeoutMs === undefined) {
    throw new CliError(escapeControl(`--timeout: invalid duration "${options.timeout}" (use e.g. 250ms, 2s, 1m)`), EXIT.usage);
  }
  const { loaded, session } = await runningStack(services, options.config);
  try {
    const began = Date.now();
    let stopped: string[];
    try {
      stopped = await session.stacks.stopServices(loaded.spec.name, services, timeoutMs);
    } catch (err) {
      const cause = (err as Error).cause;
      if (cause instanceof Error && /no registered handler for update/i.test(cause.message)) {
        throw new CliError(
          `stack ${loaded.spec.name}: its workflow was started by an older stackflow, which cannot stop single services; \`stackflow down\` stops the whole stack`,
          EXIT.failure,
        );
      }
      throw err;
    }
    console.log(green(`stopped ${stopped.length ? stopped.join(', ') : 'nothing (already stopped)'} in ${formatDuration(Date.now() - began)}`));
    return EXIT.ok;
  } finally {
    await session.close();
  }
}
