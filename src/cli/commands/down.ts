// `stackflow down`: drain the stack in reverse dependency order and stop the background worker.
import type { StackStatus } from '../../model.js';
import { stopEmbedded } from '../../temporal/index.js';
import { CliError, EXIT } from '../errors.js';
import { parseDuration } from '../../config/index.js';
import { dim, formatDuration, green, yellow } from '../output.js';
import { hasBackgroundWorker, openSession, startInProcessWorker, stopBackgroundWorker, type Session } from '../session.js';
import { locateStackOrExit } from '../stack-file.js';
import { escapeControl } from '../../config/index.js';

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
  try {
    // Draining needs a worker; when none runs (the foreground `up` died), this command brings one.
    const worker = (await hasBackgroundWorker(spec.home)) ? null : await startInProcessWorker(session, spec.home);
    const final = await drainStack(session, spec.name, 'stackflow down', budgetMs);
    await worker?.stop();
    if (!final) say(dim(`stack ${spec.name} is not running`));
    if (await stopBackgroundWorker(spec.home)) say(dim('background worker stopped'));
  } finally {
    await session.close();
  }
  if (options.all && (await stopEmbedded(spec.home))) say(dim('embedded Temporal server stopped'));
  return EXIT.ok;
}

export async function drainStack(session: Session, stack: string, reason: string, budgetMs?: number): Promise<StackStatus | null> {
  const started = Date.now();
  const final = await session.stacks.shutdown(stack, reason, budgetMs);
  for (const [name, s] of Object.entries(final?.services ?? {})) {
    if (s.state === 'failed' || s.error) say(yellow(escapeControl(`${name}: ${s.state}: ${s.error ?? ''}`)));
  }
  if (final) say(green(`stack ${stack} stopped in ${formatDuration(Date.now() - started)}`));
  return final;
}
