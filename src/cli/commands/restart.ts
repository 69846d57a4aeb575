// `stackflow restart <service...> [--with-dependents]`: through the `restartService` update, which
// answers once the service is healthy again (or says why it is not).
import { WorkflowUpdateFailedError } from '@temporalio/client';
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
