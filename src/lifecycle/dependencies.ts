// Whether a dependency meets its depends_on condition, or can no longer meet it (pure).
import type { DependencyCondition, ServiceSpec, ServiceStatus, StackSpec } from '../model.js';
import { backoffDelay } from './backoff.js';

export type DependencyVerdict = 'met' | 'waiting' | 'unreachable';

export function dependencyVerdict(condition: DependencyCondition, dep: ServiceStatus): DependencyVerdict {
  switch (condition) {
    case 'started':
      if (dep.pid !== null || dep.state === 'healthy' || dep.state === 'completed') return 'met';
      break;
    case 'healthy':
      if (dep.state === 'healthy') return 'met';
      if (dep.state === 'completed') return 'unreachable';
      break;
    case 'completed_successfully':
      if (dep.state === 'completed') return 'met';
      break;
  }
  if (dep.state === 'failed' || dep.state === 'blocked' || dep.state === 'stopped') return 'unreachable';
  return 'waiting';
}

/** The stack's services as a graph: service -> the services it depends on. */
export function dependencyMap(stack: StackSpec): Record<string, string[]> {
  return Object.fromEntries(Object.values(stack.services).map((spec) => [spec.name, Object.keys(spec.dependsOn)]));
}

/**
 * How long a dependent waits for `dep` by default once `dep` has been launched: every start attempt
 * its restart policy allows, each up to its ready timeout, and the back-offs between them.
 */
export function dependencyWaitBudgetMs(dep: ServiceSpec): number {
  const attempts = dep.restart.policy === 'never' ? 1 : dep.restart.maxRestarts + 1;
  let total = attempts * (dep.health.startPeriodMs + dep.health.readyTimeoutMs);
  for (let restart = 1; restart < attempts; restart++) total += backoffDelay(dep.restart.backoff, restart, () => 0.5);
  return total;
}
