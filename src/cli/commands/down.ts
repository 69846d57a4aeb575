// `stackflow down`: drain the stack in reverse dependency order and stop the background worker.
import type { StackStatus } from '../../model.js';
import { stopEmbedded } from '../../temporal/index.js';
import { EXIT } from '../errors.js';
import { dim, formatDuration, green, yellow } from '../output.js';
import { hasBackgroundWorker, openSession, startInProcessWorker, stopBackgroundWorker, type Session } from '../session.js';
import { loadStackOrExit } from '../stack-file.js';

export interface DownOptions {
  config: string;
  all?: boolean;
}

const say = (line: string) => console.log(line);

export async function down(options: DownOptions): Promise<number> {
  const { spec } = await loadStackOrExit(options.config);
  const session = await openSession(spec.home, say);
  try {
    const started = Date.now();
    // Draining needs a worker; when none runs (the foreground `up` died), this command brings one.
    const worker = (await hasBackgroundWorker(spec.home)) ? null : await startInProcessWorker(session);
    const final = await drainStack(session, spec.name, 'stackflow down');
    await worker?.stop();
    if (final) say(green(`stack ${spec.name} stopped in ${formatDuration(Date.now() - started)}`));
    else say(dim(`stack ${spec.name} is not running`));
    if (await stopBackgroundWorker(spec.home)) say(dim('background worker stopped'));
  } finally {
    await session.close();
  }
  if (options.all && (await stopEmbedded(spec.home))) say(dim('embedded Temporal server stopped'));
  return EXIT.ok;
}

export async function drainStack(session: Session, stack: string, reason: string): Promise<StackStatus | null> {
  const final = await session.stacks.shutdown(stack, reason);
  for (const [name, s] of Object.entries(final?.services ?? {})) {
    if (s.state === 'failed') say(yellow(`${name}: failed: ${s.error ?? ''}`));
  }
  return final;
}
