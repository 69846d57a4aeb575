import { readFile } from 'node:fs/promises';
import type { ParseOptions } from './parse.js';
import { parseStack } from './parse.js';
import { StackFileError } from './problems.js';
import type { LoadedStack } from './resolve.js';

export type LoadOptions = Omit<ParseOptions, 'file'>;

/** Reads, validates and resolves a stack file; throws StackFileError with every problem found. */
export async function loadStack(file: string, options: LoadOptions = {}): Promise<LoadedStack> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'stack file not found (create it, or pass another with -c <file>)'
        : `cannot read the stack file (${code ?? String(error)}; fix its permissions or pass another with -c <file>)`;
    throw new StackFileError([{ path: file, message }]);
  }
  return parseStack(text, { ...options, file });
}
