import type { DependencyMap } from './dependency-map.js';
import { dependenciesOf, nodesOf } from './dependency-map.js';

/**
 * The first dependency cycle met when walking services in sorted-name order, as a path that
 * repeats its first node (`['a', 'b', 'c', 'a']`, read "a depends on b ... depends on a"), or null.
 */
export function findCycle(deps: DependencyMap): string[] | null {
  const finished = new Set<string>();
  const path: string[] = [];

  const visit = (name: string): string[] | null => {
    const onPath = path.indexOf(name);
    if (onPath >= 0) return [...path.slice(onPath), name];
    if (finished.has(name)) return null;
    path.push(name);
    for (const dep of dependenciesOf(deps, name)) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    finished.add(name);
    return null;
  };

  for (const name of nodesOf(deps)) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return null;
}
