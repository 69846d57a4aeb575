// Which stack a command that acts on a running stack (down, status, registry) is about. With
// `-p/--project-name` the stack file is not read, and neither yaml nor zod is loaded: `status -p demo`
// starts fast. Without it the file is read leniently (config/identity.ts), loaded only then.
import { dirname, resolve } from 'node:path';
import type { StackIdentity } from '../config/identity.js';
import { escapeControl, formatProblem, StackFileError } from '../config/problems.js';
import { namedStack } from '../config/stack-name.js';
import { CliError, EXIT } from './errors.js';
import { dim } from './output.js';

/**
 * The stack's name and state directory: from `-p/--project-name`, else the stack file read leniently
 * (identifyStack), so that a broken or deleted file, or a variable now unset, does not keep a running
 * stack from being stopped. What was wrong with the file is printed as a note on stderr. An invalid
 * name is a usage error (exit 2).
 */
export async function locateStackOrExit(options: { config: string; projectName?: string }): Promise<StackIdentity> {
  const file = resolve(options.config);
  try {
    if (options.projectName !== undefined) return namedStack(options.projectName, dirname(file), process.env);
    const { identifyStack } = await import('../config/identity.js');
    const identity = identifyStack(file);
    if (identity.note) console.error(dim(`note: ${escapeControl(identity.note)}`));
    return identity;
  } catch (err) {
    throw err instanceof StackFileError ? new CliError(err.problems.map(formatProblem).join('\n'), EXIT.usage) : err;
  }
}
