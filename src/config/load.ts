import type { ParseOptions } from './parse.js';
import { parseStack } from './parse.js';
import { StackFileError } from './problems.js';
import { readTextFile, unreadableMessage } from './read-file.js';
import type { LoadedStack } from './resolve.js';

export type LoadOptions = Omit<ParseOptions, 'file'>;

/**
 * Reads, validates and resolves a stack file; throws StackFileError with every problem found. The file
 * must be a regular file of at most 1 MiB of UTF-8 (read-file.ts): a FIFO or a device is refused unread.
 */
export async function loadStack(file: string, options: LoadOptions = {}): Promise<LoadedStack> {
  return parseStack(readStackFile(file), { ...options, file });
}

/** The stack file's text, or a StackFileError naming the file and the fix. */
export function readStackFile(file: string): string {
  try {
    return readTextFile(file, 'stack file');
  } catch (error) {
    throw new StackFileError([{ path: file, message: unreadableMessage(error, 'stack file', 'create it, or pass another with -c <file>') }]);
  }
}
