// `stackflow restart <service...> [--with-dependents]`: through the `restartService` update, which
// answers once the service is healthy again (or says why it is not).
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { formatProblem, preflight } from '../../config/index.js';
import { lookup } from '../../name-map.js';
import { CliError, EXIT } from '../errors.js';
import { formatDuration, green, serviceErrorText } from '../output.js';
import { findSession, noServerMessage, requireWorker } from '../session.js';
import { loadStackOrExit, requireKnownServices } from '../stack-file.js';

export interface RestartOptions {
  config: string;
  withDependents?: boolean;
}

export async function restart(services: string[], options: RestartOptions): Promise<number> {
  const loaded = await loadStackOrExit(options.config);
  requireKnownServices(loaded, services);
  const session = await findSession(loaded.spec.home, (line) => console.error(line));
  if (!session) throw new CliError(`${noServerMessage(loaded.spec.name)}; start it with \`stackflow up\``, EXIT.failure);
  try {
    if (!(await session.stacks.isRunning(loaded.spec.name))) {
      throw new CliError(`stack ${loaded.spec.name} is not running (start it with \`stackflow up\`)`, EXIT.failure);
    }
    await requireWorker(session, loaded.spec.name);
    // A service with no process (failed, stopped) gets its port checked as `up` and `start` do: a
    // port another process holds fails at once, naming the holder, instead of a crash loop.
    const current = (await session.stacks.status(loaded.spec.name))?.services ?? {};
    const idle = services.filter((s) => (lookup(current, s)?.pid ?? null) === null);
    const problems = idle.length ? await preflight({ ...loaded.spec, services: Object.fromEntries(idle.map((s) => [s, loaded.spec.services[s]!])) }) : [];
    if (problems.length) throw new CliError(problems.map(formatProblem).join('\n'), EXIT.usage);
    for (const service of services) {
      const started = Date.now();
      let bounced: string[];
      try {
        bounced = await session.stacks.restart(loaded.spec.name, service, options.withDependents);
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) throw new CliError(serviceErrorText(service, err.cause?.message ?? err.message), EXIT.failure);
        throw err;
      }
      const withThem = options.withDependents ? `; dependents stopped and started again: ${bounced.length ? bounced.join(', ') : 'none running'}` : '';
      console.log(green(`${service} restarted and healthy in ${formatDuration(Date.now() - started)}`) + withThem);
    }
  } finally {
    await session.close();
  }
  return EXIT.ok;
}
