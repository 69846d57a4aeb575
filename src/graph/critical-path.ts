import { topologicalOrder } from './order.js';
import type { DependencyMap } from './dependency-map.js';
import { dependenciesOf } from './dependency-map.js';

export interface Chain {
  /** Sum of the weights along `chain`. */
  total: number;
  /** From a service without dependencies to the last one to become ready, in start order. */
  chain: string[];
}

function heaviest(chains: Iterable<Chain>): Chain | undefined {
  let found: Chain | undefined;
  for (const chain of chains) if (!found || chain.total > found.total) found = chain;
  return found;
}

/**
 * The critical path: the dependency chain with the largest total weight, i.e. the least time a
 * perfectly parallel start can take when `weight(name)` is the time one service needs to be ready.
 * Ties go to the chain met first in start order. Throws on a cycle.
 */
export function longestChain(deps: DependencyMap, weight: (name: string) => number): Chain {
  const heaviestEndingAt = new Map<string, Chain>();
  for (const name of topologicalOrder(deps)) {
    const before = heaviest(dependenciesOf(deps, name).map((dep) => heaviestEndingAt.get(dep)!));
    heaviestEndingAt.set(name, {
      total: (before?.total ?? 0) + weight(name),
      chain: [...(before?.chain ?? []), name],
    });
  }
  return heaviest(heaviestEndingAt.values()) ?? { total: 0, chain: [] };
}
