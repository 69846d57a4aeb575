// A stack's name and state directory without reading its file (`-p/--project-name`), and the rules
// both share with the full loader. No yaml, no zod: `status -p <name>` starts fast.
import { basename, resolve } from 'node:path';
import type { Variables } from './interpolate.js';
import { StackFileError } from './problems.js';

/** A stack name: lower-case letters, digits, `_` and `-`, starting with a letter or digit (compose's project-name rule). */
export const STACK_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export const INVALID_STACK_NAME = 'invalid stack name (use lower-case letters, digits, "_" and "-", starting with a letter or digit)';

/** The folder's name made a valid stack name (compose's default project name). */
export function defaultStackName(dir: string): string {
  return basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '') || 'stack';
}

/** STACKFLOW_HOME: `home`, else the variable (relative to the working directory), else `.stackflow` beside the stack file. */
export function stackHome(dir: string, env: Variables, home?: string): string {
  return resolve(home || env.STACKFLOW_HOME || resolve(dir, '.stackflow'));
}

/** The stack `name` given on the command line, with its home; StackFileError (path `--project-name`) for an invalid name. */
export function namedStack(name: string, dir: string, env: Variables): { name: string; home: string } {
  if (!STACK_NAME.test(name)) throw new StackFileError([{ path: '--project-name', message: INVALID_STACK_NAME }]);
  return { name, home: stackHome(dir, env) };
}
