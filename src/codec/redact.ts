// What a person may see of a service's environment (SPEC §7a): values of ServiceSpec.publicEnv names
// in clear, every other value as `***`. Pure (no Node imports): workflow code uses it for the UI's
// details, the codec endpoint for everything the Web UI decodes.
import type { ServiceSpec } from '../model.js';

export const REDACTED = '***';

/** `env` with each value not named in `publicEnv` replaced by `***` (names stay visible). */
export function redactedEnv(spec: Pick<ServiceSpec, 'env' | 'publicEnv'>): Record<string, string> {
  const shown = new Set(spec.publicEnv);
  return Object.fromEntries(Object.entries(spec.env).map(([name, value]) => [name, shown.has(name) ? value : REDACTED]));
}

/** The secret values of a spec: those of its env names not in `publicEnv`. */
export function secretValues(spec: Pick<ServiceSpec, 'env' | 'publicEnv'>): string[] {
  const shown = new Set(spec.publicEnv);
  return Object.entries(spec.env)
    .filter(([name]) => !shown.has(name))
    .map(([, value]) => value);
}

/** True for an object shaped like a ServiceSpec's environment: `env` (strings) and `publicEnv` (names). */
function isSpecLike(value: Record<string, unknown>): value is Record<string, unknown> & Pick<ServiceSpec, 'env' | 'publicEnv'> {
  const { env, publicEnv } = value;
  return (
    typeof env === 'object' && env !== null && !Array.isArray(env) &&
    Array.isArray(publicEnv) && publicEnv.every((name) => typeof name === 'string') &&
    Object.values(env).every((v) => typeof v === 'string')
  );
}

/**
 * Hides secrets in any decoded value (JSON-shaped): every object shaped like a ServiceSpec gets its
 * env redacted, and its secret values (with `known`, secrets met earlier) are replaced wherever else
 * they occur as, or inside, a string (a summary, a failure message). Values shorter than
 * `minSecretLength` are only redacted in env, never searched for in other text. Returns a new value;
 * adds the secrets it finds to `known`.
 */
export function redactSecrets<T>(value: T, known: Set<string> = new Set(), minSecretLength = 4): T {
  collect(value, known);
  const needles = [...known].filter((s) => s.length >= minSecretLength).sort((a, b) => b.length - a.length);
  return scrub(value, needles) as T;
}

function collect(value: unknown, known: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, known);
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (isSpecLike(record)) for (const secret of secretValues(record)) known.add(secret);
    for (const item of Object.values(record)) collect(item, known);
  }
}

function scrub(value: unknown, needles: string[]): unknown {
  if (typeof value === 'string') return needles.reduce((s, needle) => s.split(needle).join(REDACTED), value);
  if (Array.isArray(value)) return value.map((item) => scrub(item, needles));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const out = Object.fromEntries(Object.entries(record).map(([k, v]) => [k, scrub(v, needles)]));
  if (isSpecLike(record)) out.env = redactedEnv(record);
  return out;
}
