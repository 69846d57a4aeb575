/** A YAML/JSON mapping (not a list, not null). */
export function isPlainMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A map keyed by user-chosen names (services, env variables, hosts, dependencies): a null-prototype
 * object, so that a name such as `constructor`, `toString` or `__proto__` is data like any other and
 * never reaches Object.prototype. Assigning to it is safe (`map.__proto__ = x` creates a key). It
 * travels through Temporal payloads as plain JSON, so a receiver must still look names up with
 * `hasName` (or a Map), never `map[name]` on an object it did not build.
 */
export type NameMap<Value> = Record<string, Value>;

/** A NameMap from entries (later entries win). */
export function nameMap<Value>(entries: Iterable<readonly [string, Value]> = []): NameMap<Value> {
  const map = Object.create(null) as NameMap<Value>;
  for (const [name, value] of entries) map[name] = value;
  return map;
}

/** A NameMap with the entries of each source in turn, later sources winning (a name-safe `{ ...a, ...b }`). */
export function mergeNameMaps<Value>(...sources: (Readonly<Record<string, Value>> | undefined)[]): NameMap<Value> {
  return nameMap(sources.flatMap((source) => (source ? Object.entries(source) : [])));
}

/** Whether `name` is one of the map's own keys (never an inherited property such as `constructor`). */
export function hasName(map: object, name: string): boolean {
  return Object.hasOwn(map, name);
}

/** The value of `name` when it is one of the map's own keys, else undefined (a name-safe `map?.[name]`). */
export function lookup<Value>(map: Readonly<Record<string, Value>> | undefined, name: string): Value | undefined {
  return map !== undefined && Object.hasOwn(map, name) ? map[name] : undefined;
}
