// Reading a file the user named (the stack file, an env file) without trusting what it is.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** The most a stack file or an env file may hold: far above any real one, far below what would hurt. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/** Why a file could not be read as text: the message says what to do. */
export class UnreadableFileError extends Error {}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** The offset of the first byte that is not part of valid UTF-8, or undefined when all of it is. */
function firstInvalidUtf8(bytes: Uint8Array): number | undefined {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return undefined;
  } catch {
    // the lenient decoder writes U+FFFD for each bad sequence; the first one not written as EF BF BD is it
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    for (let index = text.indexOf('\ufffd'); index !== -1; index = text.indexOf('\ufffd', index + 1)) {
      const offset = Buffer.byteLength(text.slice(0, index));
      if (bytes[offset] !== 0xef || bytes[offset + 1] !== 0xbf || bytes[offset + 2] !== 0xbd) return offset;
    }
    return bytes.length - 1;
  }
}

/** 1-based line of the byte at `offset`. */
function lineOfByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/**
 * The text of a regular file, decoded as UTF-8 (a leading BOM removed). Throws UnreadableFileError
 * when the path is not a regular file (a FIFO, a device such as /dev/zero, a directory: refused
 * before any read, so nothing blocks or fills memory), when it holds more than `maxBytes` (read at
 * most `maxBytes + 1` bytes, so a file that grows or a /proc file that claims size 0 is capped too),
 * or when it is not valid UTF-8 (naming the line of the first bad byte). `what` names the file in
 * messages (`stack file`, `env file "app.env"`); a missing or unreadable file is thrown as the
 * original Node error (ENOENT, EACCES) for the caller to word.
 */
export function readTextFile(path: string, what: string, maxBytes = MAX_CONFIG_FILE_BYTES): string {
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer (it is refused just below)
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  let bytes: Uint8Array;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const kind = stat.isDirectory() ? 'a directory' : stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : 'a device';
      throw new UnreadableFileError(`${what} is ${kind}, not a regular file (give the path of a file)`);
    }
    if (stat.size > maxBytes) {
      throw new UnreadableFileError(`${what} is ${formatBytes(stat.size)}, more than the ${formatBytes(maxBytes)} allowed (is it the right file?)`);
    }
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) throw new UnreadableFileError(`${what} is more than the ${formatBytes(maxBytes)} allowed (is it the right file?)`);
    bytes = buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
  const invalid = firstInvalidUtf8(bytes);
  if (invalid !== undefined) {
    throw new UnreadableFileError(
      `${what} is not valid UTF-8: line ${lineOfByte(bytes, invalid)} has byte 0x${bytes[invalid]!.toString(16).padStart(2, '0')} (save it as UTF-8)`,
    );
  }
  return new TextDecoder('utf-8').decode(bytes);
}

/** The message for a file that could not be opened or read: not found (at `absolute`), no permission, or UnreadableFileError's own. */
export function unreadableMessage(error: unknown, what: string, fix: string, absolute?: string): string {
  if (error instanceof UnreadableFileError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${what} not found${absolute ? ` at ${absolute}` : ''} (${fix})`;
  return `cannot read ${what} (${code ?? String(error)}; fix its permissions or ${fix})`;
}
