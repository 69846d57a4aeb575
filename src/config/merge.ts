import { isPlainMap, nameMap } from '../name-map.js';
import type { ServiceInput } from './schema.js';

/**
 * Maps merge key by key (into null-prototype maps: keys are the user's names), anything else (lists, scalars) is replaced; `override` wins.
 * A probe is one value: a service's `tcp:` replaces the defaults' `http:` rather than joining it.
 */
function deepMerge(base: unknown, override: unknown, key?: string): unknown {
  if (override === undefined) return base;
  if (key === 'probe' || !isPlainMap(base) || !isPlainMap(override)) return override;
  const merged = nameMap(Object.entries(base));
  for (const [name, value] of Object.entries(override)) merged[name] = deepMerge(Object.hasOwn(base, name) ? base[name] : undefined, value, name);
  return merged;
}

/** The service with the stack's `defaults:` under it. */
export function applyDefaults(defaults: ServiceInput, service: ServiceInput): ServiceInput {
  return deepMerge(defaults, service) as ServiceInput;
}
