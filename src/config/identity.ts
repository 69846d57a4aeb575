// Which stack a command acts on, for the commands that need only that (down, status): they must work
// on a running stack even when its file is broken, deleted, or interpolates a variable now unset.
import { dirname } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import type { Variables } from './interpolate.js';
import { lookupIn, substitute } from './interpolate.js';
import { readStackFile } from './load.js';
import { parseStack } from './parse.js';
import { formatProblem, StackFileError } from './problems.js';
import { defaultStackName, INVALID_STACK_NAME as INVALID_NAME, namedStack, STACK_NAME, stackHome } from './stack-name.js';

export interface StackIdentity {
  name: string;
  /** Absolute STACKFLOW_HOME: the stack's state lives in `<home>/<name>/`. */
  home: string;
  /** Set when the stack file could not be loaded in full: what was wrong and where the name came from. */
  note?: string;
}

/** The `name:` the file declares, read leniently (a file with other problems, or YAML errors elsewhere, still has one). */
function declaredName(text: string, env: Variables): { name?: string; problem?: string } {
  const document = parseDocument(text, { stringKeys: true });
  const node = isMap(document.contents) ? document.contents.get('name', true) : undefined;
  if (!isScalar(node) || node.value === null) return {};
  const result = substitute(node.source ?? String(node.value), lookupIn(env));
  return 'text' in result ? { name: result.text } : { problem: result.problem };
}

/**
 * The stack's name and state directory. `name` (a `-p/--project-name` option) wins; else the file
 * loaded in full; else, as compose's `down` does, leniently: its `name:` (interpolated if it can be)
 * or the folder name, with a `note` saying why. Throws StackFileError only when no name can be told
 * (a `name:` that cannot be interpolated, or an invalid one), with the fix: `-p <name>`.
 */
export function identifyStack(file: string, options: { env?: Variables; name?: string } = {}): StackIdentity {
  const env = options.env ?? process.env;
  const dir = dirname(file);
  if (options.name !== undefined) return namedStack(options.name, dir, env);
  let text: string | undefined;
  try {
    text = readStackFile(file);
    const { spec } = parseStack(text, { file, env });
    return { name: spec.name, home: spec.home };
  } catch (error) {
    if (!(error instanceof StackFileError)) throw error;
    const declared = text === undefined ? {} : declaredName(text, env);
    if (declared.problem !== undefined) {
      throw new StackFileError([{ path: 'name', message: `${declared.problem}; or pass the stack's name with -p <name>` }]);
    }
    const name = declared.name ?? defaultStackName(dir);
    if (!STACK_NAME.test(name)) throw new StackFileError([{ path: 'name', message: `${INVALID_NAME}; or pass the stack's name with -p <name>` }]);
    const [first, ...more] = error.problems;
    const why = `${first ? formatProblem(first) : 'the stack file has problems'}${more.length ? ` (and ${more.length} more)` : ''}`;
    const source = declared.name === undefined ? 'the folder name' : 'the file\'s name:';
    return { name, home: stackHome(dir, env), note: `${why}; acting on stack "${name}" (from ${source}; -p <name> picks another)` };
  }
}
