import { isPlainMap } from './plain-map.js';
import type { ServiceInput } from './schema.js';

/**
 * Maps merge key by key, anything else (lists, scalars) is replaced; `override` wins.
 * A probe is one value: a service's `tcp:` replaces the defaults' `http:` rather than joining it.
 */
function deepMerge(base: unknown, override: unknown, key?: string): unknown {
  if (override === undefined) return base;
  if (key === 'probe' || !isPlainMap(base) || !isPlainMap(override)) return override;
  const merged: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(override)) merged[name] = deepMerge(base[name], value, name);
  return merged;
}

/** The service with the stack's `defaults:` under it. */
export function applyDefaults(defaults: ServiceInput, service: ServiceInput): ServiceInput {
  return deepMerge(defaults, service) as ServiceInput;
}
