export type ArgvResult = { argv: string[] } | { problem: string };

export const MISSING_COMMAND = 'missing (give the program to run, e.g. command: [node, server.js])';

/**
 * Splits a command line into argv the way a shell splits plain words, '...' and "..." (with \" and \\
 * inside double quotes) and backslash escapes, without running a shell: no variables, globs or pipes.
 */
function splitCommandLine(line: string): ArgvResult {
  const argv: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (quote === '"' && char === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= '';
    } else if (/\s/.test(char)) {
      if (word !== undefined) argv.push(word);
      word = undefined;
    } else if (char === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else {
      word = (word ?? '') + char;
    }
  }
  if (quote) return { problem: `unterminated ${quote} quote (close it, or write the command as a list)` };
  if (word !== undefined) argv.push(word);
  return { argv };
}

/** A command as written in the stack file (a line to split, or an argv list) -> argv. */
export function toArgv(command: string | string[]): ArgvResult {
  const result = typeof command === 'string' ? splitCommandLine(command) : { argv: command };
  if ('argv' in result && (result.argv.length === 0 || result.argv[0] === '')) return { problem: MISSING_COMMAND };
  return result;
}
