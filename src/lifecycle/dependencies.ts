// Whether a dependency meets its depends_on condition, or can no longer meet it (pure).
import type { DependencyCondition, ServiceStatus, StackSpec } from '../model.js';

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
