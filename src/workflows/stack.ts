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
import type { ServiceSpec, StackSpec, StackStatus } from '../model.js';
import { redactedEnv } from '../codec/redact.js';
import { hasName } from '../name-map.js';
import { planStarts, planStops, type DependencyGate } from '../lifecycle/plan.js';
import { StackState, type CarriedStackState } from '../lifecycle/stack-state.js';
import { errorSummary, isSettled } from '../lifecycle/status.js';
import { planReload, type ReloadPlan } from '../lifecycle/reload.js';
import { hostAddress, stackRegistry, withHostAddresses } from '../lifecycle/hosts.js';
import { transitiveDependents, type DependencyMap } from '../graph/index.js';
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
import { historyIsLong, serviceWorkflow, type ServiceOutcome, type ServiceWorkflowInput, type Tuning } from './service.js';


export interface StackWorkflowInput {
  stack: StackSpec;
  /** The services to run (dependencies included); all of them when empty. */
  services: string[];
  workflowQueue: string;
  tuning: Tuning;
  /** Set when a previous run continued as new: where the stack stands (StackState.carry()). */
  carried?: CarriedStackState;
}

export async function stackWorkflow(input: StackWorkflowInput): Promise<StackStatus> {
  const state = new StackState(input.stack, input.carried);
  const stackDir = `${input.stack.home}/${input.stack.name}`;
  // By id, not by child handle: after a continue-as-new the service workflows are no longer children.
  const serviceHandle = (name: string) => getExternalWorkflowHandle(serviceWorkflowId(state.stack.name, name));
  const details = () => setCurrentDetails(stackDetails(state.snapshot(), state.deps));
  /** Closed (or failed) runs of each service's workflow, as far as this run of the stack started them. */
  const closing = new Map<string, Promise<void>>();

  function launch(name: string, gates: DependencyGate[]): void {
    const spec = state.stack.services[name];
    const n = state.launch(name, gates.length > 0, Date.now());
    const settleThisRun = (outcome: ServiceOutcome) => state.settle(name, outcome, n);
    // A relaunch (restart with dependents, reload) starts the new run only once the previous run of the
    // same workflow id has closed: its last report may settle it here a moment before it completes.
    const previousRun = closing.get(name) ?? Promise.resolve();
    void previousRun.then(() =>
      startChild(serviceWorkflow, serviceWorkflowOptions(name, spec, gates)).then(
        (handle) => {
          state.markStarted(name, n);
          const result = handle.result();
          closing.set(name, result.then(() => undefined, () => undefined));
          result.then(settleThisRun, (err: Error) =>
            settleThisRun({ state: 'failed', restarts: state.status(name).restarts, lastExit: null, error: err.message }),
          );
        },
        (err: Error) => settleThisRun({ state: 'failed', restarts: 0, lastExit: null, error: `could not start its workflow: ${err.message}` }),
      ),
    );
  }

  function serviceWorkflowOptions(name: string, spec: ServiceSpec, gates: DependencyGate[]) {
    const { stack } = state;
    const status = state.status(name);
    return {
      workflowId: serviceWorkflowId(stack.name, name),
      // On its host's queue, beside its activities (eager dispatch).
      taskQueue: hostTaskQueue(input.workflowQueue, spec.host),
      args: [
        {
          stack: stack.name,
          stackDir,
          // A dependency on another host is reached at that host's address (it has reported by now).
          spec: withHostAddresses(spec, stack, (dep) => hostAddress(stack, stack.services[dep]!.host, state.slot(dep)?.status.address)),
          parentWorkflowId: workflowInfo().workflowId,
          workflowQueue: input.workflowQueue,
          tuning: input.tuning,
          carried: {
            restarts: status.restarts,
            manualRestarts: status.manualRestarts,
            restartTimes: [],
            lastExit: status.lastExit,
            phase: 'starting',
          },
          ...(gates.length && { waitFor: gates }),
        },
      ] satisfies [ServiceWorkflowInput],
      // Service workflows must outlive a continue-as-new of this one; the drain stops them explicitly.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${name}: ${spec.command.join(' ')}`,
      staticDetails: serviceDetails(spec),
      typedSearchAttributes: [{ key: stackNameKey, value: stack.name }],
    };
  }

  /** Applies the start plan (launch, block, release); returns when the next dependency wait or release is due. */
  function startWhatIsReady(): number | undefined {
    const plan = planStarts(state.slots, state.stack.services, Date.now());
    for (const action of plan.actions) {
      const name = action.service;
      if (action.kind === 'launch') launch(name, action.gates);
      else if (action.kind === 'block') state.block(name, action.reason);
      else if (action.kind === 'met') state.markMet(name, Date.now());
      else if (action.kind === 'unmet') state.markUnmet(name);
      else if (state.release(name)) serviceHandle(name).signal(dependenciesMetSignal).catch(() => undefined);
    }
    // A blocked service whose workflow waits at its host gate is told to give up (it ends `blocked`).
    for (const name of state.takeBlockedAtGate()) {
      serviceHandle(name).signal(stopServiceSignal, { reason: `blocked: ${state.status(name).error}` }).catch(() => undefined);
    }
    return plan.wakeAt;
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
      state.notify();
    }, () => undefined);
  }

  /**
   * Stops the launched services among `names`, each only once every launched service among `names`
   * that depends on it has finished (dependents outside `names` keep running).
   */
  async function stopInReverseOrder(names: string[], reason: string): Promise<void> {
    const targets = names.filter((name) => state.slot(name)?.run);
    while (targets.some((name) => !state.slot(name)!.run?.finished)) {
      const seen = state.version;
      for (const { service, after } of planStops(targets, state.slots, state.stack.services, state.dependents)) {
        state.markStopping(service);
        serviceHandle(service).signal(stopServiceSignal, { reason, ...(after.length && { after }) }).catch(() => {
          // Already completed: its result settles it.
        });
      }
      await condition(() => state.version !== seen);
    }
  }

  /**
   * stopInReverseOrder, bounded: services still stopping when `budgetMs` is spent are killed (their
   * process groups SIGKILLed) and say so in their error. `what` names the budget in that message.
   */
  async function stopWithinBudget(names: string[], reason: string, budgetMs: number | undefined, what: string): Promise<void> {
    const stopping = stopInReverseOrder(names, reason);
    if (budgetMs !== undefined && !(await withinBudget(stopping, budgetMs))) {
      const spent = `${what} budget of ${budgetMs}ms spent`;
      for (const name of state.markKilled(names, `still stopping when the ${spent}: killed`)) {
        serviceHandle(name).signal(stopServiceSignal, { reason: spent, force: true }).catch(() => undefined);
      }
    }
    await stopping;
  }

  /**
   * `stackflow stop svc...` (compose's stop): the services and their running dependents, dependents
   * first, stopped and kept stopped while the stack runs on (they stay launched and finished, so
   * nothing starts them again until `startServices` asks). Answers with every service it stopped.
   */
  async function stopServices(request: StopServicesRequest): Promise<string[]> {
    const named = [...new Set(request.services.flatMap((name) => [name, ...transitiveDependents(state.deps, name)]))];
    const targets = named.filter((name) => state.isRunning(name));
    await stopWithinBudget(targets, 'stopped on request', request.timeoutMs, 'stop');
    return targets;
  }

  function restartProblem(request: RestartRequest): string | null {
    if (state.phase !== 'running') return `stack ${state.stack.name} is shutting down`;
    const slot = state.slot(request.service);
    if (!slot) return `unknown service "${request.service}" (the stack runs: ${state.names().join(', ')})`;
    if (!slot.run) return `${request.service} has not started (it is ${slot.status.state})`;
    return null;
  }

  /** Restarts the service (and, when asked, its dependents); answers with the dependents it bounced. */
  async function restart(request: RestartRequest): Promise<string[]> {
    const { service } = request;
    const dependentsToCycle = request.withDependents ? transitiveDependents(state.deps, service).filter((d) => state.slot(d)?.run) : [];
    await stopInReverseOrder(dependentsToCycle, `restart of ${service}`);

    const healthyBefore = state.status(service).healthyAt;
    if (state.slot(service)!.run?.finished) {
      state.relaunchLater(service, Date.now());
    } else {
      await condition(() => state.slot(service)!.run?.started === true || state.slot(service)!.run?.finished === true);
      state.markRestarting(service);
      serviceHandle(service).signal(restartNowSignal, { cause: request.cause }).catch(() => undefined);
    }
    // Only now: relaunched dependents are gated on the service's next process, not on the one going away.
    for (const dependent of dependentsToCycle) state.relaunchLater(dependent, Date.now());
    await condition(() => {
      const s = state.status(service);
      return state.phase !== 'running' || s.state === 'failed' || (s.state === 'healthy' && s.healthyAt !== healthyBefore);
    });
    const after = state.status(service);
    if (after.state !== 'healthy') {
      throw ApplicationFailure.nonRetryable(`${service} did not become healthy again: it is ${after.state}${after.error ? ` (${after.error})` : ''}`);
    }
    return dependentsToCycle;
  }

  async function applyConfig(next: StackSpec): Promise<ReloadPlan> {
    const plan = planReload(state.stack, next, state.names());
    await stopInReverseOrder([...plan.removed, ...plan.changed], 'reload');
    state.reconfigure(next, plan, Date.now());
    const touched = [...plan.added, ...plan.changed];
    await condition(() => state.phase !== 'running' || isSettled(touched.map((name) => state.status(name))));
    return plan;
  }

  /** A restart asked for by signal: refused (logged) or done, never failing the handler. */
  async function restartOnSignal(request: RestartRequest): Promise<void> {
    const problem = restartProblem(request);
    if (problem) return log.warn(`restartService signal ignored: ${problem}`);
    await restart(request).catch((err: Error) => log.warn(`restart of ${request.service} failed: ${err.message}`));
  }

  // The updates' validators: each throws, naming the problem, for a request the stack refuses.
  function assertRunning(): void {
    if (state.phase !== 'running') throw new Error(`stack ${state.stack.name} is shutting down`);
  }
  function validateRestart(request: RestartRequest): void {
    const problem = restartProblem(request);
    if (problem) throw new Error(problem);
  }
  function validateReload(next: StackSpec): void {
    assertRunning();
    if (next.name !== state.stack.name) throw new Error(`the file defines stack "${next.name}", not "${state.stack.name}"`);
  }
  function validateStart(request: StartServicesRequest): void {
    assertRunning();
    const unknown = request.services.filter((name) => !hasName(request.stack.services, name));
    if (unknown.length) throw new Error(`unknown service(s): ${unknown.join(', ')}`);
  }
  function validateStop(request: StopServicesRequest): void {
    assertRunning();
    const unknown = request.services.filter((name) => !state.slot(name));
    if (unknown.length) throw new Error(`unknown service(s): ${unknown.join(', ')} (the stack runs: ${state.names().join(', ')})`);
  }

  setHandler(statusQuery, () => state.snapshot());
  setHandler(registryQuery, () => stackRegistry(state.stack, state.statuses()));
  setHandler(stackSpecQuery, () => state.stack);
  setHandler(shutdownSignal, (request?: ShutdownRequest) => state.shutdown(request?.timeoutMs));
  setHandler(serviceReportSignal, (report: ServiceReport) => state.applyReport(report));
  setHandler(restartServiceSignal, restartOnSignal);
  setHandler(restartServiceUpdate, restart, { validator: validateRestart });
  setHandler(applyConfigUpdate, applyConfig, { validator: validateReload });
  setHandler(startServicesUpdate, (request: StartServicesRequest) => state.startServices(request.services, request.stack, Date.now()), { validator: validateStart });
  setHandler(stopServicesUpdate, stopServices, { validator: validateStop });

  if (!input.carried) state.want(input.services.length ? input.services : Object.keys(state.stack.services), Date.now());

  while (state.phase === 'running') {
    if (historyIsLong(input.tuning)) {
      // Only between starts: a child whose start is in flight would be lost to the next run.
      await condition(() => allHandlersFinished() && state.noStartInFlight());
      if (state.phase === 'running') {
        armDeadline(undefined);
        return continueAsNew<typeof stackWorkflow>({ ...input, stack: state.stack, carried: state.carry() });
      }
      continue;
    }
    const seen = state.version;
    armDeadline(startWhatIsReady());
    details();
    await condition(() => state.phase !== 'running' || state.version !== seen);
  }

  state.stopUnlaunched();
  armDeadline(undefined);
  details();
  await stopWithinBudget(state.names(), 'stack shutdown', state.drainBudgetMs, 'drain');
  state.phase = 'drained';
  details();
  return state.snapshot();
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
