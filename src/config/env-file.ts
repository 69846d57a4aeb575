// `env_file` files, with docker compose's grammar. The reference is compose-go's `dotenv` package
// (github.com/compose-spec/compose-go, dotenv/parser.go and dotenv/godotenv.go) and compose's
// documentation ("Syntax for environment files", https://docs.docker.com/compose/env-file/).
// Written from those rules; no code copied. The npm `dotenv` package does not follow them (it ends an
// unquoted value at any `#`, does not interpolate, and only knows `\n` in double quotes), hence our own.
import { resolve } from 'node:path';
import type { Lookup } from './interpolate.js';
import { substitute } from './interpolate.js';
import type { NameMap } from '../name-map.js';
import { hasName, nameMap } from '../name-map.js';
import type { Problem } from './problems.js';
import { readTextFile, unreadableMessage } from './read-file.js';

/** compose-go's `isSpace`: blanks that are not a line break. */
const BLANK = /[\t\v\f\r \u0085\u00a0]/;
/** compose-go's key characters: letters, digits, `_`, `.`, `-`, `[`, `]`. */
const KEY_CHAR = /[\p{L}\p{N}_.\-[\]]/u;
const OCTAL_ESCAPE = /^\\0([0-7]{3})$/;
/** The escapes compose expands in a double-quoted value (parser.go `escapeSeqRegex`). */
const ESCAPE = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g;
const SIMPLE_ESCAPES: Record<string, string> = {
  '\\a': '\x07',
  '\\b': '\b',
  '\\f': '\f',
  '\\n': '\n',
  '\\r': '\r',
  '\\t': '\t',
  '\\v': '\v',
  '\\\\': '\\',
  '\\"': '"',
  // `\$` is a literal `$`: written as `$$` so that interpolation, which runs next, keeps it
  '\\$': '$$',
};

/** `\n`, `\t`, `\"`, `\\`, `\$`, `\0ooo` (three octal digits, at most 0377) and the rest of the table; any other backslash stays. */
function expandEscapes(text: string): string {
  return text.replace(ESCAPE, (escape) => {
    const octal = OCTAL_ESCAPE.exec(escape);
    if (octal) {
      const code = parseInt(octal[1]!, 8);
      return code <= 0o377 ? String.fromCharCode(code) : escape;
    }
    return SIMPLE_ESCAPES[escape] ?? escape;
  });
}

export interface EnvFileProblem {
  /** 1-based line where the statement starts. */
  line: number;
  message: string;
}

/** What an env file sets (a null-prototype map, later lines winning) and what was wrong with it. */
export interface ParsedEnvFile {
  values: NameMap<string>;
  problems: EnvFileProblem[];
}

/**
 * Parses an env file as docker compose does:
 * - blank lines and lines whose first non-blank character is `#` are skipped; a leading BOM is ignored;
 * - `export NAME=value` is `NAME=value`; `NAME: value` is accepted as well (compose-go's yaml style);
 * - a line with only `NAME` takes NAME's value from `lookup` (the caller's environment), else nothing;
 * - names are letters, digits, `_`, `.`, `-`, `[`, `]`; blanks around `=` and before the value are dropped;
 * - unquoted: the rest of the line, cut at the first ` #` (a `#` not after a space is kept), trailing
 *   blanks (so a CRLF's CR) dropped, then interpolated;
 * - `'single'`: literal, no escapes but `\'`, no interpolation; may span lines;
 * - `"double"`: `\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b`, `\f`, `\v`, `\$` and `\0ooo` expanded, then
 *   interpolated; may span lines; `#` and `=` inside quotes are text;
 * - interpolation uses the grammar of interpolate.ts, looking names up in `lookup` first, then in the
 *   values set earlier (this file's lines above, earlier env files).
 * Deliberately stricter than compose, each a problem instead of a guess: text after a closing quote
 * other than a `# comment`, a name starting with a digit (compose drops the line silently), a name
 * with a space, and an unset variable interpolated without a default.
 * An unterminated quote stops the parse (the rest of the file would be inside it).
 */
export function parseEnvFile(text: string, lookup: Lookup = () => undefined, earlier: NameMap<string> = nameMap()): ParsedEnvFile {
  const values = nameMap<string>();
  const problems: EnvFileProblem[] = [];
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const lineAt = (index: number) => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (lineStarts[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  };
  const lineEnd = (from: number) => {
    const newline = text.indexOf('\n', from);
    return newline === -1 ? text.length : newline;
  };
  const known: Lookup = (name) => lookup(name) ?? (hasName(values, name) ? values[name] : hasName(earlier, name) ? earlier[name] : undefined);
  const interpolated = (raw: string, line: number): string | undefined => {
    const result = substitute(raw, known);
    if ('text' in result) return result.text;
    problems.push({ line, message: result.problem });
    return undefined;
  };

  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    const line = lineAt(i);
    const end = lineEnd(i);
    if (text[i] === '#') {
      i = end;
      continue;
    }
    const exported = /^export[\t\v\f\r \u0085\u00a0]+/.exec(text.slice(i, end));
    let keyEnd = i + (exported?.[0].length ?? 0);
    const keyStart = keyEnd;
    while (keyEnd < end && text[keyEnd] !== '=' && text[keyEnd] !== ':' && (BLANK.test(text[keyEnd]!) || KEY_CHAR.test(text[keyEnd]!))) keyEnd++;
    const key = text.slice(keyStart, keyEnd).trimEnd();
    const bad =
      keyEnd < end && text[keyEnd] !== '=' && text[keyEnd] !== ':'
        ? `unexpected character ${JSON.stringify(text[keyEnd])} in variable name (write NAME=value; quote values, not names)`
        : key === ''
          ? 'expected NAME=value (fix it or comment it out with #)'
          : BLANK.test(key)
            ? `variable name "${key}" contains a space (write NAME=value)`
            : /^\p{N}/u.test(key)
              ? `variable name "${key}" starts with a digit (compose ignores such lines; rename it)`
              : undefined;
    if (bad) {
      problems.push({ line, message: bad });
      i = end;
      continue;
    }
    if (keyEnd === end) {
      // a bare NAME: its value comes from the caller's environment, when set there
      const inherited = lookup(key);
      if (inherited !== undefined) values[key] = inherited;
      i = end;
      continue;
    }
    let start = keyEnd + 1;
    while (start < end && BLANK.test(text[start]!)) start++;
    const quote = text[start];
    if (quote !== '"' && quote !== "'") {
      const raw = text.slice(start, end).split(' #')[0]!.trimEnd();
      const value = interpolated(raw, line);
      if (value !== undefined) values[key] = value;
      i = end;
      continue;
    }
    // quoted: up to the first quote not preceded by a backslash; `\<quote>` is the quote, other escapes stay for later
    let raw = '';
    let close = -1;
    for (let at = start + 1; at < text.length; at++) {
      const char = text[at]!;
      if (char === '\\' && at + 1 < text.length) {
        raw += text[at + 1] === quote ? quote : `\\${text[at + 1]}`;
        at++;
      } else if (char === quote) {
        close = at;
        break;
      } else {
        raw += char;
      }
    }
    if (close === -1) {
      problems.push({ line, message: `unterminated ${quote} quote (close it; a quoted value may span lines)` });
      break;
    }
    const after = text.slice(close + 1, lineEnd(close));
    if (!/^[\t\v\f\r \u0085\u00a0]*(#.*)?$/.test(after)) {
      problems.push({ line: lineAt(close), message: `unexpected ${JSON.stringify(after.trim())} after the closing quote (put it inside the quotes, or start a comment with " #")` });
    } else {
      const value = quote === "'" ? raw : interpolated(expandEscapes(raw), line);
      if (value !== undefined) values[key] = value;
    }
    i = lineEnd(close);
  }
  return { values, problems };
}

/**
 * Reads env files (paths relative to `baseDir`) in order, later files winning; `path` is where they are
 * declared (problems are reported there). Each file is read with readTextFile's checks (a regular
 * file, at most 1 MiB, UTF-8). `lookup` is the caller's environment, for interpolation and bare names.
 */
export function readEnvFiles(
  files: readonly string[],
  baseDir: string,
  path: string,
  lookup: Lookup,
): { values: NameMap<string>; problems: Problem[] } {
  const values = nameMap<string>();
  const problems: Problem[] = [];
  for (const file of files) {
    const absolute = resolve(baseDir, file);
    const what = `env file "${file}"`;
    let text: string;
    try {
      text = readTextFile(absolute, what);
    } catch (error) {
      problems.push({ path, message: unreadableMessage(error, what, 'create it or fix the path', absolute) });
      continue;
    }
    const parsed = parseEnvFile(text, lookup, values);
    for (const problem of parsed.problems) problems.push({ path, message: `${what} line ${problem.line}: ${problem.message}` });
    Object.assign(values, parsed.values);
  }
  return { values, problems };
}
