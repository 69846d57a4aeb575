// `stackflow reload`: apply the edited stack file to the running stack (the `applyConfig` update):
// start added services, stop removed ones, restart changed ones, leave the rest alone.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { formatProblem, preflight } from '../../config/index.js';
import { isEmptyPlan, planReload, type ReloadPlan } from '../../lifecycle/reload.js';
import { CliError, EXIT } from '../errors.js';
import { bold, dim, formatDuration, green, serviceErrorText } from '../output.js';
import { findSession, noServerMessage, QUERY_DEADLINE_MS, requireWorker } from '../session.js';
import { loadStackOrExit } from '../stack-file.js';
import { followEvents } from '../progress.js';

export async function reload(options: { config: string }): Promise<number> {
  const { spec } = await loadStackOrExit(options.config);
  const session = await findSession(spec.home, (line) => console.error(line));
  if (!session) throw new CliError(`${noServerMessage(spec.name)}; start it with \`stackflow up\``, EXIT.failure);
  try {
    if (await session.stacks.isRunning(spec.name)) await requireWorker(session, spec.name);
    const running = await session.stacks.status(spec.name, QUERY_DEADLINE_MS);
    if (!running) throw new CliError(`stack ${spec.name} is not running (start it with \`stackflow up\`)`, EXIT.failure);
    const planned = planReload(await session.stacks.runningSpec(spec.name), spec, Object.keys(running.services));
    console.log(describePlan(planned));
    if (isEmptyPlan(planned)) return EXIT.ok;

    const toStart = [...planned.added, ...planned.changed];
    const problems = await preflight(
      { ...spec, services: Object.fromEntries(toStart.map((name) => [name, spec.services[name]])) },
      { ignorePortsOf: Object.keys(running.services) },
    );
    if (problems.length) throw new CliError(problems.map(formatProblem).join('\n'), EXIT.usage);

    const started = Date.now();
    // Crash back-offs and stops of the services being reloaded, as they happen.
    const following = new AbortController();
    const seen = followEvents(session.stacks, spec.name, running.services, (line) => console.log(dim(line)), following.signal, started);
    try {
      await session.stacks.reload(spec);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new CliError(`reload: ${err.cause?.message ?? err.message}`, EXIT.failure);
      throw err;
    } finally {
      following.abort();
      await seen;
    }
    const after = await session.stacks.status(spec.name);
    const broken = toStart.filter((name) => after?.services[name] && after.services[name].state !== 'healthy' && after.services[name].state !== 'completed');
    for (const name of broken) console.error(serviceErrorText(name, after!.services[name].error ?? 'no reason recorded', after!.services[name].state));
    if (broken.length) return EXIT.failure;
    console.log(green(`reloaded in ${formatDuration(Date.now() - started)}`));
    return EXIT.ok;
  } finally {
    await session.close();
  }
}

export function describePlan(plan: ReloadPlan): string {
  if (isEmptyPlan(plan)) return dim('nothing to reload: the running stack matches the file');
  const line = (label: string, names: string[]) => `  ${bold(label.padEnd(10))} ${names.length ? names.join(', ') : dim('-')}`;
  return [
    'reload plan:',
    line('add', plan.added),
    line('remove', plan.removed),
    line('restart', plan.changed),
    line('keep', plan.unchanged),
  ].join('\n');
}
