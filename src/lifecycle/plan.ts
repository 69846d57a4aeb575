// The stack's plan (pure): given where every service stands, what the stack workflow does next:
// which service workflows to launch (with the same-host dependencies their host gates on), which
// to block, which gated spawns to release, which services to stop and after whom. The workflow
// applies these decisions; they are unit-tested without Temporal (test/unit/plan.test.ts).
import type { DependencyCondition, ServiceSpec } from '../model.js';
import { dependencyVerdict, dependencyWaitBudgetMs } from './dependencies.js';
import type { ServiceSlot } from './stack-state.js';

/** One dependency a gated spawn waits for on its host (SPEC §4 `depends_on`). */
export interface DependencyGate {
  service: string;
  condition: DependencyCondition;
  /**
   * A process of the dependency that no longer counts (it is being restarted): facts about this pid
   * are ignored, so a dependent relaunched with its restarting dependency waits for the new process.
   */
  stalePid?: number | null;
}

/** `db healthy, cache started`: what a gated spawn waits for, for summaries and heartbeats. */
export function describeGates(gates: DependencyGate[]): string {
  return gates.map((g) => `${g.service} ${g.condition}`).join(', ');
}

/**
 * After this long with every dependency's condition met in the stack's reports but no spawn
 * reported, the stack releases the gated spawn itself: the host's bus normally opens the gate
 * within milliseconds, so only a lost bus (a worker restart) waits this long.
 */
export const GATE_RELEASE_GRACE_MS = 3000;

export type StartAction =
  | { kind: 'launch'; service: string; gates: DependencyGate[] }
  | { kind: 'block'; service: string; reason: string }
  | { kind: 'release'; service: string }
  /** Every dependency is met in the reports: start the release grace (gated services). */
  | { kind: 'met'; service: string }
  /** No longer met (a dependency went back to restarting): the grace starts over when it is. */
  | { kind: 'unmet'; service: string };

export interface StartPlan {
  actions: StartAction[];
  /** Epoch ms of the next dependency deadline or release: when to look again, if nothing changes before. */
  wakeAt?: number;
}

/**
 * What to start, block or release now (SPEC §4: no level barriers, dependency-wait deadlines,
 * a failed or blocked dependency blocks only its dependents).
 *
 * A pending service is launched as soon as its dependencies on *other* hosts meet their conditions;
 * those on its own host that do not yet are handed to its host as gates. A launched, gated service is
 * still judged from the reports: blocked when a dependency can no longer meet its condition or its
 * wait deadline passes, released when the reports show everything met for GATE_RELEASE_GRACE_MS.
 * `services` are the stack's slots (StackState.slots), `specs` the stack's services by name; `now`
 * is epoch ms.
 */
export function planStarts(services: Readonly<Record<string, ServiceSlot>>, specs: Readonly<Record<string, ServiceSpec>>, now: number): StartPlan {
  const actions: StartAction[] = [];
  let wakeAt: number | undefined;
  const wake = (at: number) => (wakeAt = Math.min(wakeAt ?? at, at));
  for (const [name, s] of Object.entries(services)) {
    const spec = specs[name];
    const run = s.run;
    const waitingToLaunch = !run && s.status.state === 'pending';
    const waitingAtGate = run?.gated === true && s.status.state === 'pending';
    if (!waitingToLaunch && !waitingAtGate) continue;
    const verdicts = Object.entries(spec.dependsOn).map(([dep, d]) => ({
      dep,
      d,
      verdict: dependencyVerdict(d.condition, services[dep].status),
      sameHost: specs[dep].host === spec.host,
    }));
    const unreachable = verdicts.find((v) => v.verdict === 'unreachable');
    if (unreachable) {
      actions.push({ kind: 'block', service: name, reason: `needs ${unreachable.dep} ${unreachable.d.condition}, but it is ${services[unreachable.dep].status.state}` });
      continue;
    }
    const waiting = verdicts.filter((v) => v.verdict === 'waiting');
    if (waitingToLaunch && waiting.every((v) => v.sameHost)) {
      const gates = waiting.map(({ dep, d }) => {
        const status = services[dep].status;
        return { service: dep, condition: d.condition, ...(status.state === 'restarting' && status.pid !== null && { stalePid: status.pid }) };
      });
      actions.push({ kind: 'launch', service: name, gates });
      continue;
    }
    if (waitingAtGate && waiting.length === 0) {
      if (run.released) continue;
      if (run.metSince === undefined) {
        actions.push({ kind: 'met', service: name });
        wake(now + GATE_RELEASE_GRACE_MS);
      } else if (now >= run.metSince + GATE_RELEASE_GRACE_MS) {
        actions.push({ kind: 'release', service: name });
      } else {
        wake(run.metSince + GATE_RELEASE_GRACE_MS);
      }
      continue;
    }
    if (waitingAtGate && run.metSince !== undefined) actions.push({ kind: 'unmet', service: name });
    // A wait is timed from the later of: this service wanting to start, the dependency being launched.
    for (const { dep, d } of waiting) {
      const depLaunchedAt = services[dep].launchedAt;
      if (depLaunchedAt === undefined) continue;
      const since = Math.max(s.wantedSince, depLaunchedAt);
      const deadline = since + (d.timeoutMs ?? dependencyWaitBudgetMs(specs[dep]));
      if (now < deadline) {
        wake(deadline);
        continue;
      }
      const status = services[dep].status;
      const detail = status.error ?? describeProbe(specs[dep]);
      actions.push({
        kind: 'block',
        service: name,
        reason: `${name} waited ${Math.round((now - since) / 1000)}s for ${dep} ${d.condition}: it is ${status.state} (${detail})`,
      });
      break;
    }
  }
  return { actions, ...(wakeAt !== undefined && { wakeAt }) };
}

/** How planStops sees a target whose run was relaunched meanwhile: not started, not finished. */
const NOT_LAUNCHED = { started: false, finished: false, stopSent: false } as const;

/** One stop to send now: `after` names the same-host dependents whose processes its host waits out. */
export interface StopOrder {
  service: string;
  after: string[];
}

/**
 * The stops to send now for a drain of `targets` in reverse dependency order (SPEC §4): a service
 * is stopped only after every dependent among the targets has stopped. Dependents on the same host
 * are ordered by that host (the stop is sent at once, naming them in `after`); a dependent on another
 * host is waited for here, until its service workflow has finished. `services` are the stack's slots
 * (StackState.slots), `specs` its services by name (their hosts), `dependents` per service those
 * that depend on it.
 */
export function planStops(
  targets: string[],
  services: Readonly<Record<string, ServiceSlot>>,
  specs: Readonly<Record<string, ServiceSpec>>,
  dependents: Readonly<Record<string, readonly string[]>>,
): StopOrder[] {
  const inTargets = new Set(targets);
  const run = (name: string) => services[name].run ?? NOT_LAUNCHED;
  const orders: StopOrder[] = [];
  for (const name of targets) {
    const s = run(name);
    if (s.finished || s.stopSent || !s.started) continue;
    const pending = (dependents[name] ?? []).filter((d) => inTargets.has(d) && !run(d).finished);
    // A same-host dependent must at least have started: its stop (or its spawn's gate) is then on the host.
    if (pending.some((d) => specs[d].host !== specs[name].host || !run(d).started)) continue;
    orders.push({ service: name, after: pending });
  }
  return orders;
}

/** How a service's readiness is judged, in words (summaries and `blocked` reasons). */
export function describeProbe(spec: ServiceSpec): string {
  const probe = spec.health.probe;
  switch (probe.kind) {
    case 'http':
      return `GET ${probe.url}`;
    case 'tcp':
      return `tcp ${probe.host}:${probe.port}`;
    case 'exec':
      return `exec ${probe.command.join(' ')}`;
    case 'log':
      return `log /${probe.pattern}/`;
    case 'process':
      return 'process running';
  }
}
