import { topologicalOrder } from './order.js';
import type { DependencyMap } from './dependency-map.js';
import { dependenciesOf, invert } from './dependency-map.js';

function reachableFrom(edges: (name: string) => string[], starts: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...starts];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    pending.push(...edges(name));
  }
  return seen;
}

function inStartOrder(deps: DependencyMap, names: Set<string>): string[] {
  return topologicalOrder(deps).filter((name) => names.has(name));
}

function assertKnown(deps: DependencyMap, names: readonly string[]): void {
  const unknown = names.filter((name) => !Object.hasOwn(deps, name));
  if (unknown.length > 0) throw new Error(`unknown service ${unknown.map((name) => `"${name}"`).join(', ')}`);
}

/** `names` plus everything they transitively depend on, in start order (what `up name...` starts). */
export function withDependencies(deps: DependencyMap, names: readonly string[]): string[] {
  assertKnown(deps, names);
  return inStartOrder(deps, reachableFrom((name) => dependenciesOf(deps, name), names));
}

/** The services that depend on `name` directly, sorted. */
export function dependentsOf(deps: DependencyMap, name: string): string[] {
  assertKnown(deps, [name]);
  return invert(deps)[name]!;
}

/** Every service that depends on `name` directly or through others, in start order, without `name`. */
export function transitiveDependents(deps: DependencyMap, name: string): string[] {
  assertKnown(deps, [name]);
  const dependents = invert(deps);
  const reached = reachableFrom((dependency) => dependents[dependency]!, [name]);
  reached.delete(name);
  return inStartOrder(deps, reached);
}
