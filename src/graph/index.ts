// Pure dependency-graph algorithms. No I/O and no Node imports: workflow code imports this.
export type { DependencyMap } from './dependency-map.js';
export type { Chain } from './critical-path.js';
export { findCycle } from './cycle.js';
export { startLevels, topologicalOrder, reverseTopologicalOrder } from './order.js';
export { withDependencies, dependentsOf, transitiveDependents } from './reach.js';
export { longestChain } from './critical-path.js';
export { invert as dependentsMap } from './dependency-map.js';
