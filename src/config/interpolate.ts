// `${VAR}` interpolation with docker compose's grammar. The reference is compose-go's `template`
// package (github.com/compose-spec/compose-go, template/template.go) and compose's documentation
// ("Interpolation", https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/).
// Written from those rules; no code copied.
import { hasName, nameMap } from '../name-map.js';
import type { Problem } from './problems.js';
import { formatPath } from './problems.js';

/** Variables for interpolation, by name; looked up as own properties only (see `lookupIn`). */
export type Variables = Readonly<Record<string, string | undefined>>;

/** A variable's value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

/** A lookup in `variables` that never reaches Object.prototype (`${constructor}` is a variable like any other). */
export function lookupIn(variables: Variables): Lookup {
  return (name) => (hasName(variables, name) ? variables[name] : undefined);
}

/** The forms named in the message about one that is not supported. */
const SUPPORTED_FORMS = '${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, $$';

/** compose's variable name: `[_a-z][_a-z0-9]*`, case-insensitive (template.go `substitutionNamed`). */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
/** The operators compose's template.go accepts right after the name (`:?[-+?]`). */
const OPERATOR = /^:?[-+?]/;

class TemplateProblem extends Error {}

/** The text with every reference replaced; `fromVariables`: a variable that is set was consulted. */
export interface Substituted {
  text: string;
  fromVariables: boolean;
}

/**
 * The index of the `}` closing the `{` at `open`, counting nested braces, else -1 (as compose-go's
 * `getFirstBraceClosingIndex`, so that `${A:-${B}}` ends at the last brace).
 */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function unsupported(reference: string): TemplateProblem {
  return new TemplateProblem(`unsupported interpolation "${reference}" (the supported forms are ${SUPPORTED_FORMS} for a literal $)`);
}

/** One `${...}` body: the name, then nothing or an operator and its word (itself a template). */
function substituteBraced(body: string, reference: string, lookup: Lookup, used: { set: boolean }): string {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) throw unsupported(reference);
  const rest = body.slice(name.length);
  const value = lookup(name);
  if (value !== undefined) used.set = true;
  if (rest === '') {
    if (value === undefined) {
      throw new TemplateProblem(`variable "${name}" is not set (set it, or give a default: \${${name}:-default}, or \${${name}:-} for empty)`);
    }
    return value;
  }
  const operator = OPERATOR.exec(rest)?.[0];
  if (operator === undefined) throw unsupported(reference);
  const word = () => substituteIn(rest.slice(operator.length), lookup, used);
  const missing = value === undefined || (operator.startsWith(':') && value === '');
  switch (operator) {
    case ':-':
    case '-':
      return missing ? word() : value!;
    case ':+':
    case '+':
      return missing ? '' : word();
    default: {
      // `:?` and `?`: a required variable; the word is the error message
      if (!missing) return value!;
      const reason = word();
      throw new TemplateProblem(`required variable "${name}" is missing a value${reason ? `: ${reason}` : ''} (set ${name})`);
    }
  }
}

function substituteIn(template: string, lookup: Lookup, used: { set: boolean }): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar === -1) return out + template.slice(i);
    out += template.slice(i, dollar);
    const next = template[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const close = closingBrace(template, dollar + 1);
      if (close === -1) {
        throw new TemplateProblem(`unterminated "${template.slice(dollar)}" (close it with }, or write $$ for a literal $)`);
      }
      out += substituteBraced(template.slice(dollar + 2, close), template.slice(dollar, close + 1), lookup, used);
      i = close + 1;
    } else {
      const name = NAME.exec(template.slice(dollar + 1))?.[0];
      if (name === undefined) {
        // as in compose, a `$` before anything but a name, `{` or `$` is a literal `$`
        out += '$';
        i = dollar + 1;
      } else {
        out += substituteBraced(name, `$${name}`, lookup, used);
        i = dollar + 1 + name.length;
      }
    }
  }
  return out;
}

/**
 * Replaces every reference in `template`, with compose's semantics: `${VAR:-d}` / `${VAR-d}` give `d`
 * when VAR is unset or empty / unset; `${VAR:+a}` / `${VAR+a}` give `a` when VAR is set and non-empty /
 * set (else empty); `${VAR:?e}` / `${VAR?e}` are errors with message `e` when VAR is unset or empty /
 * unset; the word after an operator is itself interpolated (nesting) and only when used; `$$` is `$`.
 * Deliberately stricter than compose: an unset `${VAR}` / `$VAR` without an operator is a problem
 * (compose substitutes an empty string with a warning), and any other form (`${VAR/a/b}`, `${#VAR}`,
 * `${VAR:1}`, an unterminated `${`) is a problem naming the form, never a different value.
 */
export function substitute(template: string, lookup: Lookup): Substituted | { problem: string } {
  const used = { set: false };
  try {
    return { text: substituteIn(template, lookup, used), fromVariables: used.set };
  } catch (error) {
    if (error instanceof TemplateProblem) return { problem: error.message };
    throw error;
  }
}

export interface Interpolated {
  value: unknown;
  problems: Problem[];
  /** The paths (`pathKey`) of the strings whose value took something from a variable that is set. */
  fromVariables: Set<string>;
}

/** The key under which `interpolate` records a path in `fromVariables`. */
export function pathKey(path: readonly PropertyKey[]): string {
  return JSON.stringify(path.map((segment) => (typeof segment === 'number' ? segment : String(segment))));
}

/**
 * Replaces references in every string value of a parsed stack file (keys are left alone, as in compose).
 * Maps come out as null-prototype objects (names are data). A string that cannot be interpolated is
 * reported and removed, so that it does not cause follow-up problems such as "missing".
 */
export function interpolate(value: unknown, variables: Variables, path: PropertyKey[] = []): Interpolated {
  const problems: Problem[] = [];
  const fromVariables = new Set<string>();
  const lookup = lookupIn(variables);
  const walk = (node: unknown, at: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      const result = substitute(node, lookup);
      if ('text' in result) {
        if (result.fromVariables) fromVariables.add(pathKey(at));
        return result.text;
      }
      problems.push({ path: formatPath(at), message: result.problem });
      return undefined;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...at, index]));
    if (node !== null && typeof node === 'object') {
      return nameMap(Object.entries(node).map(([key, item]) => [key, walk(item, [...at, key])] as const));
    }
    return node;
  };
  return { value: walk(value, path), problems, fromVariables };
}
