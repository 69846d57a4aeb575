// The stack workflow's record of its services (deterministic, no Temporal): one slot per service,
// the operations that change it, and the payload it carries across continue-as-new. The workflow
// applies plan.ts's decisions to it and does the Temporal side (child starts, signals, timers);
// unit-tested without Temporal (test/unit/stack-state.test.ts).
import type { ServiceStatus, StackSpec, StackStatus } from '../model.js';
import type { ServiceReport } from '../workflows/definitions.js';
import type { ServiceOutcome } from '../workflows/service.js';
import { hasName, mergeNameMaps, nameMap, type NameMap } from '../name-map.js';
import { dependentsMap, withDependencies, type DependencyMap } from '../graph/index.js';
import { dependencyMap } from './dependencies.js';
import { emptyServiceStatus, reduceStackState, type StackPhase } from './status.js';

/** One launch of a service's workflow by the stack, from its start until the stack forgets it. */
export interface ServiceRun {
  /** Counts up per launch in the stack (1-based): the outcome of an earlier run cannot settle this one. */
  n: number;
  /** Its workflow has started: it can be signalled. */
  started: boolean;
  /** Its workflow has ended (result, failure or last report). */
  finished: boolean;
  /** A stop was sent to it. */
  stopSent: boolean;
  /** The `seq` of the last report applied (ServiceReport.seq); 0 before the first. */
  lastSeq: number;
  /** Launched with host gates and its spawn not yet reported. */
  gated: boolean;
  /** The stack released its gate itself (GATE_RELEASE_GRACE_MS). */
  released: boolean;
  /** Epoch ms since when the reports show all its dependencies met (gated runs only). */
  metSince?: number;
}

/** The stack's record of one service. */
export interface ServiceSlot {
  status: ServiceStatus;
  /** Epoch ms: when the stack began wanting it (or relaunching it). */
  wantedSince: number;
  /** Epoch ms of its latest launch; kept across a relaunch until the next launch. */
  launchedAt?: number;
  /** Its current launch; absent before the first and after a relaunch was asked for. */
  run?: ServiceRun;
}

/**
 * The stack's state across continue-as-new, by service name (its service workflows keep running
 * meanwhile): StackState.carry(), read back by the StackState constructor.
 */
export type CarriedStackState = Record<string, ServiceSlot>;

/**
 * Where every service of one stack stands, and the stack's phase. Every operation that a waiting
 * condition of the workflow may care about bumps `version`; times are epoch ms passed in by the
 * caller (the workflow's deterministic clock).
 */
export class StackState {
  // Keyed by service name: a null-prototype map, so `constructor` or `toString` is a service like any other.
  private readonly services: NameMap<ServiceSlot>;
  private launches: number;
  private current: { stack: StackSpec; deps: DependencyMap; dependents: DependencyMap };
  /** `running`, then `draining` once a shutdown is asked for, `drained` when the drain is done. */
  phase: StackPhase = 'running';
  /** The drain's budget in ms, when the shutdown request set one. */
  drainBudgetMs: number | undefined;
  /** Bumped on every change a waiting condition may care about. */
  version = 0;

  /** `carried`: a previous run's carry(), when this run continued as new. */
  constructor(stack: StackSpec, carried?: CarriedStackState) {
    this.current = StackState.graph(stack);
    this.services = mergeNameMaps(carried);
    this.launches = Math.max(0, ...Object.values(this.services).map((slot) => slot.run?.n ?? 0));
  }

  private static graph(stack: StackSpec) {
    const deps = dependencyMap(stack);
    return { stack, deps, dependents: dependentsMap(deps) };
  }

  /** The stack's spec (replaced by useStack). */
  get stack(): StackSpec {
    return this.current.stack;
  }

  /** Per service, the services it depends on. */
  get deps(): DependencyMap {
    return this.current.deps;
  }

  /** Per service, the services that depend on it. */
  get dependents(): DependencyMap {
    return this.current.dependents;
  }

  /** Every slot, by service name (read-only use: the planners read it). */
  get slots(): Readonly<NameMap<ServiceSlot>> {
    return this.services;
  }

  /** The services the stack runs, in the order it first wanted them. */
  names(): string[] {
    return Object.keys(this.services);
  }

  /** The slot of `name`, or undefined when the stack does not run it. */
  slot(name: string): ServiceSlot | undefined {
    return hasName(this.services, name) ? this.services[name] : undefined;
  }

  /** The status of `name`; throws for a service the stack does not run. */
  status(name: string): ServiceStatus {
    const slot = this.slot(name);
    if (!slot) throw new Error(`stack ${this.stack.name} does not run ${name}`);
    return slot.status;
  }

  /** Every service's status, by name. */
  statuses(): NameMap<ServiceStatus> {
    return nameMap(Object.entries(this.services).map(([name, slot]) => [name, slot.status]));
  }

  /** True when `name` was launched and its run has not ended. */
  isRunning(name: string): boolean {
    const run = this.slot(name)?.run;
    return run !== undefined && !run.finished;
  }

  /** The stack's status (SPEC §6), as the status query answers it. */
  snapshot(): StackStatus {
    const services = this.statuses();
    return { stack: this.stack.name, state: reduceStackState(Object.values(services), this.phase), services };
  }

  /** Wakes whatever waits for a change (a timer fired). */
  notify(): void {
    this.version++;
  }

  /** Replaces the spec (reload, startServices) and the dependency maps derived from it. */
  useStack(next: StackSpec): void {
    this.current = StackState.graph(next);
  }

  /** Asks for the drain (once); `timeoutMs`, when given, replaces the drain's budget. */
  shutdown(timeoutMs?: number): void {
    if (this.phase === 'running') this.phase = 'draining';
    this.drainBudgetMs = timeoutMs ?? this.drainBudgetMs;
    this.notify();
  }

  /** Adds `names` and their dependencies (those the stack does not run yet) as `pending`; answers with the added ones. */
  want(names: string[], now: number): string[] {
    const added: string[] = [];
    for (const name of withDependencies(this.deps, names)) {
      if (hasName(this.services, name)) continue;
      const spec = this.stack.services[name];
      this.services[name] = { status: emptyServiceStatus(spec.host, spec.port), wantedSince: now };
      added.push(name);
    }
    this.notify();
    return added;
  }

  /**
   * Records a launch of `name`'s workflow (a new run); answers with its number for settle. A run
   * launched with host gates stays `pending` until its spawn is reported, any other is `starting`.
   */
  launch(name: string, gated: boolean, now: number): number {
    const slot = this.services[name];
    const n = ++this.launches;
    slot.run = { n, started: false, finished: false, stopSent: false, lastSeq: 0, gated, released: false };
    slot.launchedAt = now;
    if (!gated) slot.status.state = 'starting';
    return n;
  }

  /** Run `n` of `name` has started its workflow (ignored if the service was relaunched since). */
  markStarted(name: string, n: number): void {
    const run = this.slot(name)?.run;
    if (run?.n === n) run.started = true;
    this.notify();
  }

  /**
   * Applies a service workflow's report to its current run. Reports can overtake each other (around
   * a continue-as-new of either workflow): one whose `seq` is not above the last applied is ignored,
   * as is any report for a run that has ended. The first report comes after the spawn, so the gate
   * is behind it; a last report (`stopped`, `failed`, `completed`) settles the run.
   */
  applyReport(report: ServiceReport): void {
    const slot = this.slot(report.service);
    const run = slot?.run;
    if (!slot || !run || run.finished || report.seq <= run.lastSeq) return;
    run.lastSeq = report.seq;
    run.gated = false;
    delete run.metSince;
    const { service: name, seq: _seq, ...fields } = report;
    if (report.state === 'stopped' || report.state === 'failed' || report.state === 'completed') {
      this.settle(name, {
        state: report.state,
        restarts: report.restarts ?? slot.status.restarts,
        manualRestarts: report.manualRestarts ?? slot.status.manualRestarts,
        lastExit: report.lastExit ?? null,
        error: report.error ?? null,
        leftRunning: report.leftRunning,
      });
      return;
    }
    Object.assign(slot.status, fields);
    this.notify();
  }

  /**
   * Ends the current run of `name` with `outcome`, once; with `n`, only if that run is still the
   * current one. A service the stack blocked and told to give up stays `blocked`, with its reason.
   */
  settle(name: string, outcome: ServiceOutcome, n?: number): void {
    const slot = this.slot(name);
    const run = slot?.run;
    if (!slot || !run || run.finished || (n !== undefined && run.n !== n)) return;
    run.finished = true;
    run.gated = false;
    const status = slot.status;
    const keepBlocked = status.state === 'blocked' && outcome.state === 'stopped';
    Object.assign(status, {
      state: keepBlocked ? 'blocked' : outcome.state,
      pid: null,
      restarts: outcome.restarts,
      manualRestarts: outcome.manualRestarts ?? status.manualRestarts,
      lastExit: outcome.lastExit ?? status.lastExit,
      error: keepBlocked ? status.error : (outcome.error ?? status.error),
      ...(outcome.leftRunning?.length && { leftRunning: outcome.leftRunning }),
    });
    this.notify();
  }

  /**
   * Forgets the run of a stopped or finished service so the start plan launches it again when it can:
   * `pending` again, with a manual restart counted (a dependency's restart, a reload).
   */
  relaunchLater(name: string, now: number): void {
    const slot = this.services[name];
    delete slot.run;
    const before = slot.status;
    slot.status = {
      ...emptyServiceStatus(before.host, before.port ?? undefined),
      restarts: before.restarts,
      manualRestarts: (before.manualRestarts ?? 0) + 1,
      lastExit: before.lastExit,
    };
    slot.wantedSince = now;
    this.notify();
  }

  /** Removes `name` from the stack (a reload dropped it). */
  forget(name: string): void {
    delete this.services[name];
    this.notify();
  }

  /**
   * Applies a reload (after the removed and changed services were stopped): the new spec, the
   * removed services forgotten, the changed ones relaunched, the added ones wanted.
   */
  reconfigure(next: StackSpec, plan: { added: string[]; removed: string[]; changed: string[] }, now: number): void {
    this.useStack(next);
    plan.removed.forEach((name) => this.forget(name));
    plan.changed.forEach((name) => this.relaunchLater(name, now));
    this.want(plan.added, now);
  }

  /**
   * `startServices`: adds the specs of `stack` and starts `services` (with their dependencies):
   * those whose run ended stopped are relaunched, those the stack does not run are wanted. Answers
   * with both.
   */
  startServices(services: string[], stack: StackSpec, now: number): string[] {
    this.useStack({ ...this.stack, services: { ...this.stack.services, ...stack.services } });
    const again = withDependencies(this.deps, services).filter((name) => this.slot(name)?.run?.finished && this.services[name].status.state === 'stopped');
    again.forEach((name) => this.relaunchLater(name, now));
    return [...again, ...this.want(services, now)];
  }

  /** The start plan blocked `name`: it cannot start, for `reason`. */
  block(name: string, reason: string): void {
    const status = this.services[name].status;
    status.state = 'blocked';
    status.error = reason;
    this.notify();
  }

  /** The reports show every dependency of gated `name` met since `now` (the release grace starts). */
  markMet(name: string, now: number): void {
    this.services[name].run!.metSince = now;
  }

  /** A dependency of gated `name` is no longer met: the release grace starts over. */
  markUnmet(name: string): void {
    delete this.services[name].run!.metSince;
  }

  /** Records the stack's release of `name`'s gate; false (nothing recorded) when its workflow has not started, so it cannot be told. */
  release(name: string): boolean {
    const run = this.services[name].run!;
    if (!run.started) return false;
    run.released = true;
    return true;
  }

  /**
   * The blocked services whose workflow still waits at its host gate and was not told yet: each is
   * marked as sent a stop (the caller tells it to give up).
   */
  takeBlockedAtGate(): string[] {
    const names: string[] = [];
    for (const [name, { status, run }] of Object.entries(this.services)) {
      if (!run?.gated || status.state !== 'blocked' || !run.started || run.stopSent || run.finished) continue;
      run.stopSent = true;
      names.push(name);
    }
    return names;
  }

  /** A stop is being sent to `name` (the drain, a stop, a restart with dependents). */
  markStopping(name: string): void {
    const slot = this.services[name];
    slot.run!.stopSent = true;
    if (slot.status.state !== 'blocked') slot.status.state = 'stopping';
  }

  /**
   * The stop budget is spent: each of `names` still running is marked as killed, saying so in its
   * error (`message`). Answers with those whose workflow has started (the caller tells them to kill).
   */
  markKilled(names: string[], message: string): string[] {
    const stuck = names.filter((name) => this.isRunning(name));
    for (const name of stuck) {
      this.services[name].status.error = message;
      this.services[name].run!.stopSent = true;
    }
    this.notify();
    return stuck.filter((name) => this.services[name].run!.started);
  }

  /** `name` is restarted in place (its workflow told to restart now). */
  markRestarting(name: string): void {
    this.services[name].status.state = 'restarting';
    this.notify();
  }

  /** At the drain: a service never launched is `stopped` rather than left `pending`. */
  stopUnlaunched(): void {
    for (const slot of Object.values(this.services)) {
      if (!slot.run && slot.status.state === 'pending') slot.status.state = 'stopped';
    }
  }

  /** True when no launch is in flight: every launched run has started or ended (continue-as-new may happen). */
  noStartInFlight(): boolean {
    return Object.values(this.services).every(({ run }) => !run || run.started || run.finished);
  }

  /** The continue-as-new payload: every slot as it stands. */
  carry(): CarriedStackState {
    return this.services;
  }
}
