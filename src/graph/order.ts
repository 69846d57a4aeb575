import { findCycle } from './cycle.js';
import type { DependencyMap } from './dependency-map.js';
import { dependenciesOf, nodesOf } from './dependency-map.js';

function assertAcyclic(deps: DependencyMap): void {
  const cycle = findCycle(deps);
  if (cycle) throw new Error(`dependency cycle ${cycle.join(' -> ')}`);
}

/**
 * Start levels: level 0 has no dependencies, level n needs something from level n-1.
 * Names are sorted inside a level. Throws on a cycle.
 */
export function startLevels(deps: DependencyMap): string[][] {
  assertAcyclic(deps);
  const levelOf = new Map<string, number>();
  const level = (name: string): number => {
    let known = levelOf.get(name);
    if (known === undefined) {
      known = Math.max(-1, ...dependenciesOf(deps, name).map(level)) + 1;
      levelOf.set(name, known);
    }
    return known;
  };
  const levels: string[][] = [];
  for (const name of nodesOf(deps)) (levels[level(name)] ??= []).push(name);
  return levels;
}

/** Every service after all of its dependencies (the start order). Throws on a cycle. */
export function topologicalOrder(deps: DependencyMap): string[] {
  return startLevels(deps).flat();
}

/** Every service before all of its dependencies (the stop order). Throws on a cycle. */
export function reverseTopologicalOrder(deps: DependencyMap): string[] {
  return topologicalOrder(deps).reverse();
}
