/** One thing wrong with a stack file: where (a dotted path, or the file name) and what to do about it. */
export interface Problem {
  path: string;
  message: string;
}

/**
 * Control characters (C0, DEL, C1), line and paragraph separators, zero-width and bidirectional
 * formatting characters (U+202E and its kin) and the BOM: what could hide or rearrange a message
 * on a terminal. Backslashes are left alone (a path on Windows stays readable).
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with each unprintable character written as an escape (`\n`, `\u202e`), for every message shown to a person. */
export function escapeControl(text: string): string {
  return text.replace(UNPRINTABLE, (char) => SHORT_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `path: message`, with control characters escaped (names and values in it are the user's). */
export function formatProblem(problem: Problem): string {
  return escapeControl(`${problem.path}: ${problem.message}`);
}

export class StackFileError extends Error {
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'StackFileError';
    this.problems = problems;
  }
}

/** `['services', 'api', 'env_file', 1]` -> `services.api.env_file[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : `${index > 0 ? '.' : ''}${String(segment)}`))
    .join('');
}

/** How a value reads in a message: `string "80a"`, `number 5`, `a list`, `an empty value`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}
