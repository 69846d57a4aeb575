// Zod issues -> one-line problems that name the path and the fix.
import type { z } from 'zod';
import type { Problem } from './problems.js';
import { describeValue, formatPath } from './problems.js';
import type { UnknownKeyParams } from './schema.js';
import { didYouMean } from './suggest.js';

type Issue = z.core.$ZodIssue;

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map',
  record: 'a map',
  array: 'a list',
};

function expectation(issue: Issue): string {
  if (issue.code === 'invalid_value') return `one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'invalid_type') return EXPECTED[issue.expected] ?? issue.expected;
  return issue.message;
}

/** A union branch rejected the value's type outright (rather than something inside it, or which string it is). */
function rejectsType(branch: readonly Issue[]): boolean {
  return branch.some(
    (issue) =>
      issue.path.length === 0 &&
      (issue.code === 'invalid_type' ||
        (issue.code === 'invalid_value' && !issue.values.some((value) => typeof value === typeof issue.input))),
  );
}

function unknownKeyOf(issue: Issue): string[] | undefined {
  return issue.code === 'custom' ? (issue.params as Partial<UnknownKeyParams> | undefined)?.unknownKeyOf : undefined;
}

function messageFor(issue: Issue): string {
  const input = issue.input;
  switch (issue.code) {
    case 'invalid_type':
      return input === undefined ? `missing (expected ${expectation(issue)})` : `expected ${expectation(issue)}, got ${describeValue(input)}`;
    case 'invalid_value': {
      const hint = typeof input === 'string' ? didYouMean(input, issue.values.map(String)) : '';
      return `expected ${expectation(issue)}, got ${describeValue(input)}${hint}`;
    }
    case 'too_small':
      if (issue.origin !== 'number') return 'must not be empty';
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}, got ${String(input)}`;
    case 'too_big':
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, got ${String(input)}`;
    case 'custom': {
      const allowed = unknownKeyOf(issue);
      const key = String(issue.path.at(-1));
      return allowed ? `unknown key "${key}"${didYouMean(key, allowed)}` : issue.message;
    }
    default:
      return issue.message;
  }
}

function problemsOf(issues: readonly Issue[], path: readonly PropertyKey[], file: string): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const at = [...path, ...issue.path];
    if (issue.code === 'invalid_union') {
      const fitting = issue.errors.filter((branch) => !rejectsType(branch));
      if (fitting.length === 1) return problemsOf(fitting[0]!, at, file);
      const expected = issue.errors.flatMap((branch) => branch.filter((inner) => inner.path.length === 0).map(expectation));
      return [{ path: formatPath(at) || file, message: `expected ${expected.join(' or ')}, got ${describeValue(issue.input)}` }];
    }
    return [{ path: formatPath(at) || file, message: messageFor(issue) }];
  });
}

/**
 * `path` is where the validated value sits in the file; `file` names the whole file (for the root).
 * A union (`command: string | list`) reports the problems of the one branch whose type fits the value,
 * else what it expected. One problem per path: zod may add a length check's complaint to a type error.
 */
export function issuesToProblems(issues: readonly Issue[], path: readonly PropertyKey[], file: string): Problem[] {
  const firstPerPath = new Map<string, Problem>();
  for (const problem of problemsOf(issues, path, file)) if (!firstPerPath.has(problem.path)) firstPerPath.set(problem.path, problem);
  return [...firstPerPath.values()];
}
