// The resolved stack travels to Temporal as one payload (the stack workflow's input, and `applyConfig`'s):
// a stack that cannot be sent is a problem of the stack file, found by `validate` before anything starts.
import type { StackSpec } from '../model.js';
import type { Problem } from './problems.js';

/**
 * Temporal's limit on one payload: 2 MB (the server's `limit.blobSize.error` default; "The max payload
 * for a single request is 2 MB", https://docs.temporal.io/troubleshooting/blob-size-limit-error).
 */
export const TEMPORAL_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;
/** Left for what goes around the stack in the same payload (the start input's other fields, encoding metadata, a codec's envelope). */
const ENVELOPE_MARGIN_BYTES = 64 * 1024;

/** The size of the stack as Temporal's JSON payload converter encodes it, in bytes. */
export function payloadBytes(spec: StackSpec): number {
  return Buffer.byteLength(JSON.stringify(spec), 'utf8');
}

/** A problem when the resolved stack is too large to start (or reload) through Temporal. */
export function payloadProblems(spec: StackSpec, file: string): Problem[] {
  const bytes = payloadBytes(spec);
  const budget = TEMPORAL_PAYLOAD_LIMIT_BYTES - ENVELOPE_MARGIN_BYTES;
  if (bytes <= budget) return [];
  const kib = (n: number) => `${Math.ceil(n / 1024)} KiB`;
  return [
    {
      path: file,
      message: `the resolved stack is ${kib(bytes)}, more than the ${kib(budget)} that fit in one Temporal payload (limit 2 MB); shrink the largest env values or env files`,
    },
  ];
}
