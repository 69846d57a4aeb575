// The stack: launches one service workflow per service at once, each with the same-host
// dependencies its host gates its spawn on (docs/architecture.md); waits here only for dependencies
// on other hosts; keeps the status current from the children's reports (and, from them, blocks
// what can no longer start and releases a gate its host lost); restarts services on demand; and
// drains in reverse dependency order, ordered by the hosts where dependents share one.
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { ServiceSpec, ServiceStatus, StackSpec, StackStatus } from '../model.js';
import { redactedEnv } from '../codec/redact.js';
import { hasName, mergeNameMaps, type NameMap } from '../name-map.js';
import { dependencyMap } from '../lifecycle/dependencies.js';
import { planStarts, planStops, type DependencyGate, type PlannedService } from '../lifecycle/plan.js';
import { emptyServiceStatus, errorSummary, isSettled, reduceStackState, type StackPhase } from '../lifecycle/status.js';
import { planReload, type ReloadPlan } from '../lifecycle/reload.js';
import { hostAddress, stackRegistry, withHostAddresses } from '../lifecycle/hosts.js';
import { dependentsMap, transitiveDependents, withDependencies, type DependencyMap } from '../graph/index.js';
import { buildTimeline } from '../lifecycle/timeline.js';
import {
  applyConfigUpdate,
  dependenciesMetSignal,
  hostTaskQueue,
  registryQuery,
  restartNowSignal,
  restartServiceSignal,
  restartServiceUpdate,
  serviceReportSignal,
  serviceWorkflowId,
  shutdownSignal,
  stackNameKey,
  stackSpecQuery,
  startServicesUpdate,
  statusQuery,
  stopServiceSignal,
  stopServicesUpdate,
  type RestartRequest,
  type ShutdownRequest,
  type ServiceReport,
  type StartServicesRequest,
  type StopServicesRequest,
} from './definitions.js';
import { historyIsLong, serviceWorkflow, type ServiceOutcome, type Tuning } from './service.js';

export interface StackWorkflowInput {
  stack: StackSpec;
  /** The services to run (dependencies included); all of them when empty. */
  services: string[];
  workflowQueue: string;
  tuning: Tuning;
  /** Set when a previous run continued as new: where the stack stands. */
  carried?: CarriedStackState;
}

/** The stack's state across continue-as-new; its service workflows keep running meanwhile. */
export interface CarriedStackState {
  status: Record<string, ServiceStatus>;
  /** Services whose workflow has started and not finished. */
  running: string[];
  waitingSince: Record<string, number>;
  launchedAt: Record<string, number>;
  lastReport: Record<string, number>;
  /** Launched services whose spawn still waits at its host gate; those the stack released; since when their dependencies are met. */
  gated?: string[];
  released?: string[];
  metSince?: Record<string, number>;
}

export async function stackWorkflow(input: StackWorkflowInput): Promise<StackStatus> {
  let stack = input.stack;
  let deps = dependencyMap(stack);
  let dependents = dependentsMap(deps);
  const stackDir = `${stack.home}/${stack.name}`;
  const carried = input.carried;
  // Keyed by service name: a null-prototype map, so `constructor` or `toString` is a service like any other.
  const status: NameMap<ServiceStatus> = mergeNameMaps(carried?.status);
  /** Services whose workflow was started (or is being started) in this stack and has not been forgotten. */
  const launched = new Set<string>(carried?.running);
  /** Launched services whose workflow has started: they can be signalled. */
  const started = new Set<string>(carried?.running);
  const finished = new Set<string>();
  const stopSent = new Set<string>();
  const waitingSince = new Map(Object.entries(carried?.waitingSince ?? {}));
  const launchedAt = new Map(Object.entries(carried?.launchedAt ?? {}));
  /** Per service, the sequence number of the last report applied (of its current launch). */
  const lastReport = new Map(Object.entries(carried?.lastReport ?? {}));
  const gated = new Set<string>(carried?.gated);
  const released = new Set<string>(carried?.released);
  const metSince = new Map(Object.entries(carried?.metSince ?? {}));
  // By id, not by child handle: after a continue-as-new the service workflows are no longer children.
  const serviceHandle = (name: string) => getExternalWorkflowHandle(serviceWorkflowId(stack.name, name));
  let phase: StackPhase = 'running';
  /** Bumped on every change a waiting condition may care about. */
  let version = 0;
  const changed = () => version++;

  const snapshot = (): StackStatus => ({
    stack: stack.name,
    state: reduceStackState(Object.values(status), phase),
    services: status,
  });

  function want(names: string[]): string[] {
    const added: string[] = [];
    for (const name of withDependencies(deps, names)) {
      if (hasName(status, name)) continue;
      const spec = stack.services[name];
      status[name] = emptyServiceStatus(spec.host, spec.port);
      waitingSince.set(name, Date.now());
      added.push(name);
    }
    changed();
    return added;
  }

  /** Bumped per launch, so the result of a service's earlier run cannot settle its current one. */
  const launches = new Map<string, number>();

  function launch(name: string, gates: DependencyGate[]): void {
    const spec = stack.services[name];
    const launchNumber = (launches.get(name) ?? 0) + 1;
    launches.set(name, launchNumber);
    const settleThisRun = (outcome: ServiceOutcome) => {
      if (launches.get(name) === launchNumber) settle(name, outcome);
    };
    launched.add(name);
    launchedAt.set(name, Date.now());
    // A gated service stays `pending` until its spawn is reported.
    if (gates.length) gated.add(name);
    else status[name].state = 'starting';
    // A relaunch (restart with dependents, reload) starts the new run only once the previous run of the
    // same workflow id has closed: its last report may settle it here a moment before it completes.
    const previousRun = closing.get(name) ?? Promise.resolve();
    void previousRun.then(() => startServiceWorkflow(name, spec, gates, settleThisRun));
  }

  /** Closed (or failed) runs of each service's workflow, as far as this run of the stack started them. */
  const closing = new Map<string, Promise<void>>();

  function startServiceWorkflow(name: string, spec: ServiceSpec, gates: DependencyGate[], settleThisRun: (outcome: ServiceOutcome) => void): void {
    startChild(serviceWorkflow, {
      workflowId: serviceWorkflowId(stack.name, name),
      // On its host's queue, beside its activities (eager dispatch).
      taskQueue: hostTaskQueue(input.workflowQueue, spec.host),
      args: [
        {
          stack: stack.name,
          stackDir,
          // A dependency on another host is reached at that host's address (it has reported by now).
          spec: withHostAddresses(spec, stack, (dep) => hostAddress(stack, stack.services[dep]!.host, status[dep]?.address)),
          parentWorkflowId: workflowInfo().workflowId,
          workflowQueue: input.workflowQueue,
          tuning: input.tuning,
          carried: {
            restarts: status[name].restarts,
            manualRestarts: status[name].manualRestarts,
            restartTimes: [],
            lastExit: status[name].lastExit,
            phase: 'starting',
          },
          ...(gates.length && { waitFor: gates }),
        },
      ],
      // Service workflows must outlive a continue-as-new of this one; the drain stops them explicitly.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${name}: ${spec.command.join(' ')}`,
      staticDetails: serviceDetails(spec),
      typedSearchAttributes: [{ key: stackNameKey, value: stack.name }],
    }).then(
      (handle) => {
        started.add(name);
        changed();
        const result = handle.result();
        closing.set(name, result.then(() => undefined, () => undefined));
        result.then(settleThisRun, (err: Error) =>
          settleThisRun({ state: 'failed', restarts: status[name].restarts, lastExit: null, error: err.message }),
        );
      },
      (err: Error) => settleThisRun({ state: 'failed', restarts: 0, lastExit: null, error: `could not start its workflow: ${err.message}` }),
    );
  }

  function settle(name: string, outcome: ServiceOutcome): void {
    if (finished.has(name) || !launched.has(name)) return;
    finished.add(name);
    gated.delete(name);
    // A service the stack blocked and told to give up stays `blocked`, with its reason.
    const keepBlocked = status[name].state === 'blocked' && outcome.state === 'stopped';
    Object.assign(status[name], {
      state: keepBlocked ? 'blocked' : outcome.state,
      pid: null,
      restarts: outcome.restarts,
      manualRestarts: outcome.manualRestarts ?? status[name].manualRestarts,
      lastExit: outcome.lastExit ?? status[name].lastExit,
      error: keepBlocked ? status[name].error : (outcome.error ?? status[name].error),
      ...(outcome.leftRunning?.length && { leftRunning: outcome.leftRunning }),
    });
    changed();
  }

  /** Forgets a stopped or finished service's run so the main loop starts it again when it can. */
  function relaunchLater(name: string): void {
    launched.delete(name);
    finished.delete(name);
    stopSent.delete(name);
    started.delete(name);
    lastReport.delete(name);
    gated.delete(name);
    released.delete(name);
    metSince.delete(name);
    const before = status[name];
    // A restart asked for (a dependency's restart, a reload): counted apart from crash restarts.
    status[name] = {
      ...emptyServiceStatus(before.host, before.port ?? undefined),
      restarts: before.restarts,
      manualRestarts: (before.manualRestarts ?? 0) + 1,
      lastExit: before.lastExit,
    };
    waitingSince.set(name, Date.now());
    changed();
  }

  function block(name: string, error: string): void {
    status[name].state = 'blocked';
    status[name].error = error;
    changed();
  }

  /** The plan's view of every service. */
  function planned(): Record<string, PlannedService> {
    return Object.fromEntries(
      Object.entries(status).map(([name, current]) => [
        name,
        {
          spec: stack.services[name],
          status: current,
          launched: launched.has(name),
          gated: gated.has(name),
          released: released.has(name),
          waitingSince: waitingSince.get(name)!,
          launchedAt: launchedAt.get(name),
          metSince: metSince.get(name),
        },
      ]),
    );
  }

  /** Applies the start plan (launch, block, release); returns when the next dependency wait or release is due. */
  function startWhatIsReady(): number | undefined {
    const plan = planStarts(planned(), Date.now());
    for (const action of plan.actions) {
      const name = action.service;
      if (action.kind === 'launch') launch(name, action.gates);
      else if (action.kind === 'block') block(name, action.reason);
      else if (action.kind === 'met') metSince.set(name, Date.now());
      else if (action.kind === 'unmet') metSince.delete(name);
      else if (started.has(name)) {
        released.add(name);
        serviceHandle(name).signal(dependenciesMetSignal).catch(() => undefined);
      }
    }
    giveUpBlocked();
    return plan.wakeAt;
  }

  /** A blocked service whose workflow waits at its host gate is told to give up (it ends `blocked`). */
  function giveUpBlocked(): void {
    for (const name of gated) {
      if (status[name].state !== 'blocked' || !started.has(name) || stopSent.has(name) || finished.has(name)) continue;
      stopSent.add(name);
      serviceHandle(name).signal(stopServiceSignal, { reason: `blocked: ${status[name].error}` }).catch(() => undefined);
    }
  }

  /** One durable timer for the earliest dependency deadline, replaced only by a sooner one. */
  let deadlineTimer: { at: number; scope: CancellationScope } | undefined;
  function armDeadline(at: number | undefined): void {
    // A timer that fires early only wakes the loop, which re-arms it: replace it only for a sooner deadline.
    if (at !== undefined && deadlineTimer !== undefined && deadlineTimer.at <= at) return;
    if (at === deadlineTimer?.at) return;
    deadlineTimer?.scope.cancel();
    deadlineTimer = undefined;
    if (at === undefined) return;
    const scope = new CancellationScope();
    const timer = { at, scope };
    deadlineTimer = timer;
    scope.run(() => sleep(Math.max(1, at - Date.now()), { summary: 'dependency wait deadline' })).then(() => {
      if (deadlineTimer === timer) deadlineTimer = undefined;
      changed();
    }, () => undefined);
  }

  /**
   * Stops the launched services among `names`, each only once every launched service among `names`
   * that depends on it has finished (dependents outside `names` keep running).
   */
  async function stopInReverseOrder(names: string[], reason: string): Promise<void> {
    const targets = names.filter((name) => launched.has(name));
    while (targets.some((name) => !finished.has(name))) {
      const seen = version;
      const view = Object.fromEntries(
        targets.map((name) => [
          name,
          { host: stack.services[name].host, started: started.has(name), finished: finished.has(name), stopSent: stopSent.has(name) },
        ]),
      );
      for (const { service, after } of planStops(targets, view, dependents)) {
        stopSent.add(service);
        if (status[service].state !== 'blocked') status[service].state = 'stopping';
        serviceHandle(service).signal(stopServiceSignal, { reason, ...(after.length && { after }) }).catch(() => {
          // Already completed: its result settles it.
        });
      }
      await condition(() => version !== seen);
    }
  }

  /**
   * stopInReverseOrder, bounded: services still stopping when `budgetMs` is spent are killed (their
   * process groups SIGKILLed) and say so in their error. `what` names the budget in that message.
   */
  async function stopWithinBudget(names: string[], reason: string, budgetMs: number | undefined, what: string): Promise<void> {
    const stopping = stopInReverseOrder(names, reason);
    if (budgetMs !== undefined && !(await withinBudget(stopping, budgetMs))) {
      const stuck = names.filter((name) => launched.has(name) && !finished.has(name));
      const spent = `${what} budget of ${budgetMs}ms spent`;
      for (const name of stuck) {
        status[name].error = `still stopping when the ${spent}: killed`;
        stopSent.add(name);
        if (started.has(name)) serviceHandle(name).signal(stopServiceSignal, { reason: spent, force: true }).catch(() => undefined);
      }
      changed();
    }
    await stopping;
  }

  /**
   * `stackflow stop svc...` (compose's stop): the services and their running dependents, dependents
   * first, stopped and kept stopped while the stack runs on (they stay launched and finished, so
   * nothing starts them again until `startServices` asks). Answers with every service it stopped.
   */
  async function stopServices(request: StopServicesRequest): Promise<string[]> {
    const named = withDependents(request.services);
    const targets = named.filter((name) => launched.has(name) && !finished.has(name));
    await stopWithinBudget(targets, 'stopped on request', request.timeoutMs, 'stop');
    return targets;
  }

  /** The services and everything that depends on them, transitively. */
  function withDependents(names: string[]): string[] {
    return [...new Set(names.flatMap((name) => [name, ...transitiveDependents(deps, name)]))];
  }

  function restartProblem(request: RestartRequest): string | null {
    if (phase !== 'running') return `stack ${stack.name} is shutting down`;
    const current = hasName(status, request.service) ? status[request.service] : undefined;
    if (!current) return `unknown service "${request.service}" (the stack runs: ${Object.keys(status).join(', ')})`;
    if (!launched.has(request.service)) return `${request.service} has not started (it is ${current.state})`;
    return null;
  }

  /** Restarts the service (and, when asked, its dependents); answers with the dependents it bounced. */
  async function restart(request: RestartRequest): Promise<string[]> {
    const { service } = request;
    const dependentsToCycle = request.withDependents ? transitiveDependents(deps, service).filter((d) => launched.has(d)) : [];
    await stopInReverseOrder(dependentsToCycle, `restart of ${service}`);

    const healthyBefore = status[service].healthyAt;
    if (finished.has(service)) {
      relaunchLater(service);
    } else {
      await condition(() => started.has(service) || finished.has(service));
      status[service].state = 'restarting';
      changed();
      serviceHandle(service).signal(restartNowSignal, { cause: request.cause }).catch(() => undefined);
    }
    // Only now: relaunched dependents are gated on the service's next process, not on the one going away.
    for (const dependent of dependentsToCycle) relaunchLater(dependent);
    await condition(() => {
      const s = status[service];
      return phase !== 'running' || s.state === 'failed' || (s.state === 'healthy' && s.healthyAt !== healthyBefore);
    });
    const after = status[service];
    if (after.state !== 'healthy') {
      throw ApplicationFailure.nonRetryable(`${service} did not become healthy again: it is ${after.state}${after.error ? ` (${after.error})` : ''}`);
    }
    return dependentsToCycle;
  }

  setHandler(statusQuery, snapshot);
  setHandler(registryQuery, () => stackRegistry(stack, status));
  let drainBudgetMs: number | undefined;
  setHandler(shutdownSignal, (request?: ShutdownRequest) => {
    if (phase === 'running') phase = 'draining';
    drainBudgetMs = request?.timeoutMs ?? drainBudgetMs;
    changed();
  });
  setHandler(serviceReportSignal, (report: ServiceReport) => {
    const current = hasName(status, report.service) ? status[report.service] : undefined;
    if (!current || finished.has(report.service) || !launched.has(report.service)) return;
    // Reports can overtake each other (around a continue-as-new of either workflow).
    if (report.seq <= (lastReport.get(report.service) ?? 0)) return;
    lastReport.set(report.service, report.seq);
    // Its first report comes after its spawn: the gate is behind it.
    gated.delete(report.service);
    metSince.delete(report.service);
    const { service: name, seq: _seq, ...fields } = report;
    // A service workflow's last report says how it ended, which a later run of this workflow
    // (after continue-as-new) learns from nothing else.
    if (report.state === 'stopped' || report.state === 'failed' || report.state === 'completed') {
      settle(name, {
        state: report.state,
        restarts: report.restarts ?? current.restarts,
        manualRestarts: report.manualRestarts ?? current.manualRestarts,
        lastExit: report.lastExit ?? null,
        error: report.error ?? null,
        leftRunning: report.leftRunning,
      });
      return;
    }
    Object.assign(current, fields);
    changed();
  });
  setHandler(restartServiceSignal, async (request: RestartRequest) => {
    const problem = restartProblem(request);
    if (problem) {
      log.warn(`restartService signal ignored: ${problem}`);
      return;
    }
    await restart(request).catch((err: Error) => log.warn(`restart of ${request.service} failed: ${err.message}`));
  });
  setHandler(restartServiceUpdate, restart, {
    validator: (request: RestartRequest) => {
      const problem = restartProblem(request);
      if (problem) throw new Error(problem);
    },
  });
  function useStack(next: StackSpec): void {
    stack = next;
    deps = dependencyMap(stack);
    dependents = dependentsMap(deps);
  }

  function forget(name: string): void {
    for (const set of [launched, started, finished, stopSent, gated, released]) set.delete(name);
    for (const map of [waitingSince, launchedAt, lastReport, metSince]) map.delete(name);
    delete status[name];
    changed();
  }

  async function applyConfig(next: StackSpec): Promise<ReloadPlan> {
    const plan = planReload(stack, next, Object.keys(status));
    await stopInReverseOrder([...plan.removed, ...plan.changed], 'reload');
    useStack(next);
    plan.removed.forEach(forget);
    plan.changed.forEach(relaunchLater);
    want(plan.added);
    const touched = [...plan.added, ...plan.changed];
    await condition(() => phase !== 'running' || isSettled(touched.map((name) => status[name])));
    return plan;
  }

  setHandler(stackSpecQuery, () => stack);
  setHandler(applyConfigUpdate, applyConfig, {
    validator: (next: StackSpec) => {
      if (phase !== 'running') throw new Error(`stack ${stack.name} is shutting down`);
      if (next.name !== stack.name) throw new Error(`the file defines stack "${next.name}", not "${stack.name}"`);
    },
  });
  setHandler(
    startServicesUpdate,
    (request: StartServicesRequest) => {
      useStack({ ...stack, services: { ...stack.services, ...request.stack.services } });
      // Services a `stopServices` stopped (or that ended stopped) start again, with what they need.
      const again = withDependencies(deps, request.services).filter((name) => finished.has(name) && status[name].state === 'stopped');
      again.forEach(relaunchLater);
      return [...again, ...want(request.services)];
    },
    {
      validator: (request: StartServicesRequest) => {
        if (phase !== 'running') throw new Error(`stack ${stack.name} is shutting down`);
        const unknown = request.services.filter((name) => !hasName(request.stack.services, name));
        if (unknown.length) throw new Error(`unknown service(s): ${unknown.join(', ')}`);
      },
    },
  );

  setHandler(stopServicesUpdate, stopServices, {
    validator: (request: StopServicesRequest) => {
      if (phase !== 'running') throw new Error(`stack ${stack.name} is shutting down`);
      const unknown = request.services.filter((name) => !hasName(status, name));
      if (unknown.length) throw new Error(`unknown service(s): ${unknown.join(', ')} (the stack runs: ${Object.keys(status).join(', ')})`);
    },
  });

  if (!carried) want(input.services.length ? input.services : Object.keys(stack.services));

  while (phase === 'running') {
    if (historyIsLong(input.tuning)) {
      // Only between starts: a child whose start is in flight would be lost to the next run.
      await condition(() => allHandlersFinished() && [...launched].every((n) => started.has(n) || finished.has(n)));
      if (phase === 'running') {
        armDeadline(undefined);
        const running = [...launched].filter((n) => !finished.has(n));
        return continueAsNew<typeof stackWorkflow>({
          ...input,
          stack,
          carried: {
            status,
            running,
            waitingSince: Object.fromEntries(waitingSince),
            launchedAt: Object.fromEntries(launchedAt),
            lastReport: Object.fromEntries(lastReport),
            gated: [...gated],
            released: [...released],
            metSince: Object.fromEntries(metSince),
          },
        });
      }
      continue;
    }
    const seen = version;
    armDeadline(startWhatIsReady());
    setCurrentDetails(stackDetails(snapshot(), deps));
    await condition(() => phase !== 'running' || version !== seen);
  }

  for (const [name, current] of Object.entries(status)) {
    if (!launched.has(name) && current.state === 'pending') current.state = 'stopped';
  }
  armDeadline(undefined);
  setCurrentDetails(stackDetails(snapshot(), deps));
  await stopWithinBudget(Object.keys(status), 'stack shutdown', drainBudgetMs, 'drain');
  phase = 'drained';
  setCurrentDetails(stackDetails(snapshot(), deps));
  return snapshot();
}

/** True when `work` settles within `ms` (a durable timer, cancelled if the work wins). */
async function withinBudget(work: Promise<void>, ms: number): Promise<boolean> {
  let done = false;
  void work.then(() => (done = true));
  return condition(() => done, ms);
}

/**
 * The Web UI's "Current Details" of the stack. UI 2.42 renders it in a frame of the default iframe
 * height (150 px, no scrolling), so it is kept to a few lines: the state and the critical chain that
 * decided the startup's total, then one line per state naming its services, each with its ready time
 * (ms from the stack's first spawn), its restarts, and for a broken one its error's first line (cut
 * to CELL_MAX characters; the service workflow's details have all of it).
 */
export function stackDetails(current: StackStatus, deps: DependencyMap): string {
  const timeline = buildTimeline(current.services, Object.keys(current.services), deps);
  const ready = new Map(timeline.rows.map((r) => [r.service, r.readyMs]));
  const steps = timeline.chain.map((step) => `${step.service} (${step.waitMs >= 1 ? `waited ${step.waitMs}ms + ` : ''}${step.spawnToReadyMs}ms)`);
  const chain = steps.length ? ` · **critical chain** ${timeline.totalMs}ms: ${steps.join(' → ')}` : '';
  const byState = new Map<string, string[]>();
  for (const [name, s] of Object.entries(current.services)) {
    const at = ready.get(name);
    const facts = [
      at === null || at === undefined ? '' : `+${at}ms`,
      s.restarts ? `${s.restarts} restarts` : '',
      s.manualRestarts ? `${s.manualRestarts} manual` : '',
      s.state === 'failed' || s.state === 'blocked' || s.state === 'restarting' ? cellText(errorSummary(name, s.error)) : '',
    ].filter(Boolean);
    byState.set(s.state, [...(byState.get(s.state) ?? []), facts.length ? `${name} (${facts.join(', ')})` : name]);
  }
  const states = [...byState].map(([state, names]) => `**${state}** ${names.length}: ${names.join(', ')}`);
  // Hard line breaks (two trailing spaces): one paragraph, no margins between the lines.
  return [`**${current.state}**${chain}`, ...states].join('  \n');
}

const CELL_MAX = 60;

/** `text` cut at CELL_MAX characters. */
function cellText(text: string): string {
  return text.length > CELL_MAX ? `${text.slice(0, CELL_MAX - 1)}…` : text;
}

/** The Web UI's "Details" of a service workflow: what it runs and how it is judged. */
function serviceDetails(spec: ServiceSpec): string {
  const deps = Object.entries(spec.dependsOn).map(([dep, d]) => `${dep} (${d.condition})`);
  return [
    `**command** \`${spec.command.join(' ')}\` in \`${spec.cwd}\``,
    `**port** ${spec.port ?? '-'} · **host** ${spec.host}`,
    `**readiness** ${spec.health.probe.kind} every ≤${spec.health.intervalMs}ms, ready timeout ${spec.health.readyTimeoutMs}ms`,
    `**restart** ${spec.restart.policy}, at most ${spec.restart.maxRestarts} in 10m`,
    // Secret values (env files, the caller's environment) show as *** (SPEC §7a).
    `**env** ${Object.entries(redactedEnv(spec)).map(([k, v]) => `\`${k}=${v}\``).join(' ') || '-'}`,
    `**depends on** ${deps.length ? deps.join(', ') : 'nothing'}`,
  ].join('\n\n');
}
