import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Problem } from './problems.js';

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) return value.slice(1, -1);
  // as in docker compose, an unquoted value ends at ` #` (an inline comment)
  return value.replace(/\s+#.*$/, '');
}

/** `KEY=VALUE` lines; blank lines and `#` comments skipped; optional `export `; quotes stripped. */
export function parseEnvFile(text: string): { values: Record<string, string>; badLines: number[] } {
  const values: Record<string, string> = {};
  const badLines: number[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const assignment = ASSIGNMENT.exec(line);
    if (!assignment) badLines.push(index + 1);
    else values[assignment[1]!] = unquote(assignment[2]!.trim());
  });
  return { values, badLines };
}

/** Reads env files (paths relative to `baseDir`) in order, later files winning; `path` is where they are declared. */
export function readEnvFiles(
  files: readonly string[],
  baseDir: string,
  path: string,
): { values: Record<string, string>; problems: Problem[] } {
  const values: Record<string, string> = {};
  const problems: Problem[] = [];
  for (const file of files) {
    const absolute = resolve(baseDir, file);
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message =
        code === 'ENOENT'
          ? `env file "${file}" not found at ${absolute} (create it or fix the path)`
          : `cannot read env file "${file}" (${code ?? String(error)}; fix its permissions or the path)`;
      problems.push({ path, message });
      continue;
    }
    const parsed = parseEnvFile(text);
    for (const line of parsed.badLines) {
      problems.push({ path, message: `env file "${file}" line ${line}: expected KEY=VALUE (fix it or comment it out with #)` });
    }
    Object.assign(values, parsed.values);
  }
  return { values, problems };
}
