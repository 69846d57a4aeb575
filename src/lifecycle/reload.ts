// What applying an edited stack file to a running stack does (pure; the workflow applies it and the
// CLI prints it).
import type { StackSpec } from '../model.js';
import { hasName } from '../name-map.js';

export interface ReloadPlan {
  /** Defined only in the new file: started. */
  added: string[];
  /** Running, gone from the new file: stopped. */
  removed: string[];
  /** Running, defined differently (command, env, port, probes, policies...): restarted with the new definition. */
  changed: string[];
  /** Running and defined the same: left alone. */
  unchanged: string[];
}

/** `running`: the services the stack runs now (a subset when it was started with `up svc...`). */
export function planReload(current: StackSpec, next: StackSpec, running: string[]): ReloadPlan {
  const plan: ReloadPlan = { added: [], removed: [], changed: [], unchanged: [] };
  for (const name of [...running].sort()) {
    // Names are looked up as own keys: a service may be called `constructor` (src/name-map.ts).
    if (!hasName(next.services, name)) plan.removed.push(name);
    else if (JSON.stringify(next.services[name]) !== JSON.stringify(current.services[name])) plan.changed.push(name);
    else plan.unchanged.push(name);
  }
  plan.added = Object.keys(next.services)
    .filter((name) => !hasName(current.services, name))
    .sort();
  return plan;
}

export function isEmptyPlan(plan: ReloadPlan): boolean {
  return plan.added.length + plan.removed.length + plan.changed.length === 0;
}
