// `stackflow start <service...>` and `stackflow stop <service...>` (compose's verbs): through the
// running stack workflow's `startServices` and `stopServices` updates.
import { withDependencies } from '../../graph/index.js';
import { dependencyMap } from '../../lifecycle/dependencies.js';
import type { LoadedStack } from '../../config/index.js';
import { CliError, EXIT } from '../errors.js';
import { formatDuration, green, red } from '../output.js';
import { stoppedMeanwhile, unhealthyServices, watchUntilSettled } from '../progress.js';
import { findSession, noServerMessage, requireWorker, type Session } from '../session.js';
import { loadStackOrExit, requireKnownServices } from '../stack-file.js';
import { parseDuration, escapeControl } from '../../config/index.js';

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

/** Starts services (and what they depend on) in the running stack; returns once they have settled. */
export async function start(services: string[], options: { config: string }): Promise<number> {
  const { loaded, session } = await runningStack(services, options.config);
  const { spec } = loaded;
  try {
    const began = Date.now();
    const targets = withDependencies(dependencyMap(spec), services);
    await session.stacks.start(spec, targets);
    const settled = await watchUntilSettled(session.stacks, spec.name, targets, () => undefined);
    if (stoppedMeanwhile(settled)) throw new CliError(`stack ${spec.name} was stopped meanwhile (state ${settled.state})`, EXIT.failure);
    const broken = unhealthyServices(settled, targets);
    for (const [name, s] of broken) console.error(red(`${name}: ${s.state}: ${s.error ?? 'no reason recorded'}`));
    if (broken.length) return EXIT.failure;
    console.log(green(`started ${targets.join(', ')} in ${formatDuration(Date.now() - began)}`));
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
