// Size-based rotation of the service log files, copy-truncate style.
//
// A service writes straight to its log file through a descriptor opened with O_APPEND (see
// ProcessManager.spawn) and keeps it open for its whole life. Renaming the file away would leave
// the service writing into the renamed file, and nothing would appear in `<service>.log` again.
// So the file is copied to `<file>.1` (after shifting `.1` -> `.2` ... up to `keep`) and then
// truncated in place; thanks to O_APPEND the service's next write lands at the new end, offset 0.
//
// What copy-truncate inherently risks: a write that lands after the last byte copied and before
// the truncation is lost. The copy below loops until the file stops growing and truncates right
// after the last read, so that window is two system calls wide; nothing written before the copy
// began is ever lost. Readers (`stackflow logs`) read `<file>.N … <file>.1 <file>` in that order.
import { constants, existsSync, fstatSync, ftruncateSync, readSync, writeSync } from 'node:fs';
import { open, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';

export const LOG_ROTATION_DEFAULTS = {
  /** Rotate once the file reaches this size. */
  maxBytes: 10 * 1024 * 1024,
  /** Rotated copies kept (`<file>.1` … `<file>.3`); older ones are deleted. */
  keep: 3,
  /** How often a supervisor is expected to call `rotateIfLarger`. */
  checkIntervalMs: 10_000,
} as const;

export interface RotationResult {
  rotated: boolean;
  /** Bytes moved to `<file>.1` (0 when `keep` is 0: the content was dropped). */
  copiedBytes: number;
}

const COPY_CHUNK_BYTES = 1024 * 1024;

/** `<file>.<n>`: 1 is the newest rotated copy. */
export function rotatedName(file: string, n: number): string {
  return `${file}.${n}`;
}

/**
 * Rotates `file` when it holds at least `maxBytes`: `<file>.<keep>` is deleted, `.n` becomes
 * `.n+1`, the content is copied to `<file>.1` (its mtime set to the file's last write, which is
 * what `logs --since` goes by) and `file` is truncated to 0 bytes. `keep = 0` just truncates.
 * A missing file, or `maxBytes <= 0`, does nothing. Not safe to run twice at once on one file.
 */
export async function rotateIfLarger(
  file: string,
  maxBytes: number = LOG_ROTATION_DEFAULTS.maxBytes,
  keep: number = LOG_ROTATION_DEFAULTS.keep,
): Promise<RotationResult> {
  if (maxBytes <= 0) return { rotated: false, copiedBytes: 0 };
  const size = await stat(file).then(
    (s) => s.size,
    () => -1,
  );
  if (size < maxBytes) return { rotated: false, copiedBytes: 0 };
  // Readers that follow the file (`logs -f`) wait while it is there: see rotationMarker.
  const marker = rotationMarker(file);
  await writeFile(marker, `${process.pid}\n`);
  try {
    return await copyAndTruncate(file, keep);
  } finally {
    await rm(marker, { force: true });
  }
}

/**
 * `<file>.rotating`: present from before the copies are shifted until after the truncation, so a
 * reader can tell a read that overlapped a rotation (whose bytes may come from either side of it)
 * and read again. A marker older than ROTATION_MARKER_STALE_MS is a crashed rotation's.
 */
export function rotationMarker(file: string): string {
  return `${file}.rotating`;
}

/** Beyond this age (ms) a rotation marker is ignored: no rotation of a 10 MB file takes that long. */
export const ROTATION_MARKER_STALE_MS = 10_000;

async function copyAndTruncate(file: string, keep: number): Promise<RotationResult> {
  if (keep > 0) {
    // The copies are numbered without gaps: shift those that exist, dropping the one beyond `keep`.
    let last = 0;
    while (last < keep && existsSync(rotatedName(file, last + 1))) last++;
    if (last === keep) await rm(rotatedName(file, keep), { force: true });
    for (let n = Math.min(last, keep - 1); n >= 1; n--) await rename(rotatedName(file, n), rotatedName(file, n + 1));
  }
  // O_RDWR without O_APPEND, never O_TRUNC: the service's own descriptor is untouched.
  const source = await open(file, constants.O_RDWR);
  try {
    const target = keep > 0 ? await open(rotatedName(file, 1), 'wx') : null;
    try {
      // The bulk asynchronously (a 10 MB copy must not stall the worker's event loop)...
      const buffer = Buffer.alloc(COPY_CHUNK_BYTES);
      let copied = 0;
      for (;;) {
        const { bytesRead } = await source.read(buffer, 0, buffer.length, copied);
        if (target) await target.write(buffer, 0, bytesRead, copied);
        copied += bytesRead;
        if (bytesRead < buffer.length) break;
      }
      // ...then what was appended meanwhile and the truncation back to back, synchronously: only a
      // write landing between the last (empty) read and ftruncate (microseconds apart) is lost. The mtime
      // is taken before that last read, so it is the time of the last write the copy holds.
      // The copy is whole before the truncation: a reader that sees the file shrink finds every byte in `.1`.
      const { tailBytes, lastWrite } = copyRestAndTruncate(source.fd, target?.fd ?? null, copied);
      if (target) {
        await target.close();
        await utimes(rotatedName(file, 1), lastWrite, lastWrite).catch(() => undefined);
      }
      return { rotated: true, copiedBytes: target ? copied + tailBytes : 0 };
    } finally {
      await target?.close().catch(() => undefined);
    }
  } finally {
    await source.close();
  }
}

/** Copies `fd`'s bytes from `from` on to `target` (null: drops them), then truncates `fd` right after its last read. */
function copyRestAndTruncate(fd: number, target: number | null, from: number): { tailBytes: number; lastWrite: Date } {
  let position = from;
  let lastWrite: Date;
  const chunk = Buffer.alloc(64 * 1024);
  for (;;) {
    lastWrite = fstatSync(fd).mtime;
    const read = readSync(fd, chunk, 0, chunk.length, position);
    if (read === 0) break;
    if (target !== null) writeSync(target, chunk, 0, read, position);
    position += read;
  }
  ftruncateSync(fd, 0);
  return { tailBytes: position - from, lastWrite };
}
