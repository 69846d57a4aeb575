// What applying an edited stack file to a running stack does (pure; the workflow applies it and the
// CLI prints it).
import type { StackSpec } from '../model.js';

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
    const after = next.services[name];
    if (!after) plan.removed.push(name);
    else if (JSON.stringify(after) !== JSON.stringify(current.services[name])) plan.changed.push(name);
    else plan.unchanged.push(name);
  }
  plan.added = Object.keys(next.services)
    .filter((name) => !current.services[name])
    .sort();
  return plan;
}

export function isEmptyPlan(plan: ReloadPlan): boolean {
  return plan.added.length + plan.removed.length + plan.changed.length === 0;
}
