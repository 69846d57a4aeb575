import { describeValue } from './problems.js';

const MS_PER_UNIT: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PLAIN_MILLISECONDS = /^\d+(?:\.\d+)?$/;
// compose-style compound durations such as `1m30s` are accepted too
const WITH_UNITS = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** `250ms`, `2s`, `1m`, `1h`, `1m30s`, or a number (string) of milliseconds -> milliseconds; else undefined. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (PLAIN_MILLISECONDS.test(text)) return Math.round(Number(text));
  if (!WITH_UNITS.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * MS_PER_UNIT[unit!]!;
  return Math.round(total);
}

export function invalidDurationMessage(value: unknown): string {
  const shown = typeof value === 'string' || typeof value === 'number' ? JSON.stringify(value) : `(got ${describeValue(value)})`;
  return `invalid duration ${shown} (use e.g. 250ms, 2s, 1m, or a number of milliseconds)`;
}
