// Loading the stack file for a command: bad input ends the command with exit 2, one line a problem.
import { resolve } from 'node:path';
import { escapeControl, loadStack, StackFileError, formatProblem, type LoadedStack } from '../config/index.js';
import { CliError, EXIT } from './errors.js';

function usageError(err: unknown): unknown {
  return err instanceof StackFileError ? new CliError(err.problems.map(formatProblem).join('\n'), EXIT.usage) : err;
}

/** The stack file loaded in full (up, validate, reload, ...): any problem ends the command with exit 2. */
export async function loadStackOrExit(file: string): Promise<LoadedStack> {
  try {
    return await loadStack(resolve(file));
  } catch (err) {
    throw usageError(err);
  }
}

/** `<STACKFLOW_HOME>/<stack>`: where logs, run records and the registry of this stack live. */
export function stackDir(loaded: LoadedStack): string {
  return `${loaded.spec.home}/${loaded.spec.name}`;
}

/** The named services plus what they need; unknown names are a usage error. */
export function requireKnownServices(loaded: LoadedStack, names: string[]): void {
  const unknown = names.filter((n) => !Object.hasOwn(loaded.spec.services, n));
  if (unknown.length === 0) return;
  const known = Object.keys(loaded.spec.services).join(', ');
  const disabled = unknown.filter((n) => loaded.disabled.includes(n));
  const hint = disabled.length ? ` (${disabled.join(', ')} disabled in the stack file)` : '';
  throw new CliError(escapeControl(`unknown service ${unknown.map((n) => `"${n}"`).join(', ')}${hint}; the stack has: ${known}`), EXIT.usage);
}
