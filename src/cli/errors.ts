// Exit codes of SPEC §8, carried by the error that decides them, and the one place that turns any
// error a command throws into a sentence and an exit code.
import { CommanderError } from 'commander';
import { EmbeddedDatabaseLostError, InvalidSettingError, TemporalUnreachableError } from '../temporal/errors.js';
import { EncryptionConfigError, EncryptionKeyError } from '../codec/errors.js';
import { HomeNotCreatableError } from '../home.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, interrupted: 130 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** What the user sees for an error: one or more lines, the exit code, and whether it is input's fault. */
export interface ErrorReport {
  message: string;
  exitCode: number;
}

// Told apart by name and shape, not instanceof: loading @temporalio/client here would slow every
// command's start-up, `--help` included.
const isNamed = (err: unknown, name: string) => err instanceof Error && err.name === name;
const isGrpcServiceError = (err: unknown): err is Error & { code: number } =>
  err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'details' in err;

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
const GRPC = { deadlineExceeded: 4, resourceExhausted: 8, unavailable: 14 } as const;

/**
 * Node's file-system error codes (`man 3 errno`): what went wrong, and the fix for that cause — a
 * path that is not a directory wants another STACKFLOW_HOME, a full disk wants space.
 */
const FS_ERRORS: Record<string, { what: string; fix: string }> = {
  EACCES: { what: 'permission denied', fix: 'point it at a directory you can write' },
  EPERM: { what: 'operation not permitted', fix: 'point it at a directory you can write' },
  EROFS: { what: 'the file system is read-only', fix: 'point it at a writable directory' },
  ENOTDIR: { what: 'a part of the path is not a directory', fix: 'point it at a directory' },
  EEXIST: { what: 'a file is in the way', fix: 'point it at a directory' },
  EISDIR: { what: 'a directory is in the way', fix: 'remove that directory or point it elsewhere' },
  ENOSPC: { what: 'no space left on the device', fix: 'free some space or point it at another disk' },
  EDQUOT: { what: 'the disk quota is exhausted', fix: 'free some space or point it at another disk' },
};

/** `err` or the first error of its `cause` chain that is a `type` (the SDK wraps codec errors). */
function findCause<T extends Error>(err: unknown, type: new (...args: never[]) => T): T | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof type) return e;
  return undefined;
}

function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e)) return e.code;
  }
  return undefined;
}

function detailOf(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(': ');
}

/**
 * The one mapping from a thrown error to the message and exit code of SPEC §8: usage errors exit 2,
 * an unreachable Temporal server 3, everything else 1. File-system errors name the path and the
 * STACKFLOW_HOME fix; Temporal's gRPC failures (deadline, lost server, payload over the size limit)
 * become sentences. Raw stacks are for `--debug` / STACKFLOW_DEBUG=1 only (see `reportError`).
 */
export function describeError(err: unknown): ErrorReport {
  if (err instanceof CommanderError) return { message: '', exitCode: err.exitCode === 0 ? EXIT.ok : EXIT.usage };
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof TemporalUnreachableError || err instanceof InvalidSettingError || err instanceof EmbeddedDatabaseLostError || err instanceof HomeNotCreatableError) {
    return { message: err.message, exitCode: err.exitCode };
  }
  const keyError = findCause(err, EncryptionKeyError) ?? findCause(err, EncryptionConfigError);
  if (keyError) return { message: keyError.message, exitCode: keyError instanceof EncryptionConfigError ? EXIT.usage : EXIT.failure };
  if (isNamed(err, 'WorkflowUpdateFailedError')) return { message: (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message, exitCode: EXIT.failure };
  const fsError = err as NodeJS.ErrnoException;
  if (fsError?.code && FS_ERRORS[fsError.code]) {
    // A failed write() on an open file names no path (Node sets `path` only on open/mkdir/...).
    const what = typeof fsError.path === 'string' ? fsError.path : "stackflow's state";
    const { what: cause, fix } = FS_ERRORS[fsError.code];
    return {
      message: `cannot write ${what}: ${cause} (${fsError.code}). stackflow keeps its state under STACKFLOW_HOME (default ./.stackflow): ${fix}.`,
      exitCode: EXIT.failure,
    };
  }
  const detail = detailOf(err);
  const code = grpcCode(err);
  if (code === GRPC.resourceExhausted || /size limit|exceeds? (the )?(blob )?size|message larger than max/i.test(detail)) {
    return {
      message: `Temporal refused a payload over its size limit (2 MB per payload, 4 MB per gRPC message): ${detail}. Split the stack file or shorten its values.`,
      exitCode: EXIT.failure,
    };
  }
  if (code === GRPC.deadlineExceeded) {
    return { message: `Temporal did not answer in time (${detail}); is a worker running? \`stackflow status\` tells.`, exitCode: EXIT.failure };
  }
  if (code === GRPC.unavailable) {
    return { message: `lost the connection to the Temporal server (${detail}).`, exitCode: EXIT.unreachable };
  }
  if (isNamed(err, 'ServiceError')) return { message: `Temporal: ${detail}`, exitCode: EXIT.failure };
  return { message: detail || String(err), exitCode: EXIT.failure };
}

/** True when the user asked for stack traces (`--debug` or STACKFLOW_DEBUG=1). */
export function debugRequested(argv: string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--debug') || (env.STACKFLOW_DEBUG !== undefined && !['', '0', 'false'].includes(env.STACKFLOW_DEBUG));
}
