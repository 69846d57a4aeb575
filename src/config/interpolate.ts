import type { Problem } from './problems.js';
import { formatPath } from './problems.js';

export type Variables = Readonly<Record<string, string | undefined>>;

// `$$`, or `${...}` (the closing brace may be missing: that is reported as malformed)
const REFERENCE = /\$\$|\$\{([^}]*)(\})?/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

type StringResult = { text: string } | { problem: string };

function interpolateString(text: string, variables: Variables): StringResult {
  let problem: string | undefined;
  const replaced = text.replace(REFERENCE, (match, body: string | undefined, close: string | undefined) => {
    if (match === '$$') return '$';
    const reference = close === undefined ? undefined : NAME_AND_DEFAULT.exec(body!);
    if (!reference) {
      problem ??= `invalid reference "${match}" (use \${VAR} or \${VAR:-default}; write $$ for a literal $)`;
      return match;
    }
    const [, name, fallback] = reference;
    const value = variables[name!];
    if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
    if (value === undefined) problem ??= `variable "${name}" is not set (set ${name} or use \${${name}:-default})`;
    return value ?? match;
  });
  return problem === undefined ? { text: replaced } : { problem };
}

export interface Interpolated {
  value: unknown;
  problems: Problem[];
}

/**
 * Replaces `${VAR}` / `${VAR:-default}` / `$$` in every string value of a parsed stack file (keys are left
 * alone). A string that cannot be interpolated is reported and removed, so that it does not cause
 * follow-up problems such as "missing" or "expected a number".
 */
export function interpolate(value: unknown, variables: Variables, path: PropertyKey[] = []): Interpolated {
  const problems: Problem[] = [];
  const walk = (node: unknown, at: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      const result = interpolateString(node, variables);
      if ('text' in result) return result.text;
      problems.push({ path: formatPath(at), message: result.problem });
      return undefined;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...at, index]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, walk(item, [...at, key])]));
    }
    return node;
  };
  return { value: walk(value, path), problems };
}
