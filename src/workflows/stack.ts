// The stack: starts one service workflow per service the moment its dependencies meet their
// conditions, keeps the status current from the children's reports, restarts services on demand,
// and drains in reverse dependency order.
import {
  ApplicationFailure,
  condition,
  log,
  ParentClosePolicy,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { ServiceStatus, StackSpec, StackStatus } from '../model.js';
import { dependencyMap, dependencyVerdict } from '../lifecycle/dependencies.js';
import { emptyServiceStatus, reduceStackState, type StackPhase } from '../lifecycle/status.js';
import { dependentsMap, transitiveDependents, withDependencies } from '../graph/index.js';
import {
  restartNowSignal,
  restartServiceSignal,
  restartServiceUpdate,
  serviceReportSignal,
  serviceWorkflowId,
  shutdownSignal,
  stackNameKey,
  startServicesUpdate,
  statusQuery,
  stopServiceSignal,
  type RestartRequest,
  type ServiceReport,
  type StartServicesRequest,
} from './definitions.js';
import { serviceWorkflow, type ServiceOutcome, type Tuning } from './service.js';

export interface StackWorkflowInput {
  stack: StackSpec;
  /** The services to run (dependencies included); all of them when empty. */
  services: string[];
  workflowQueue: string;
  tuning: Tuning;
}

export async function stackWorkflow(input: StackWorkflowInput): Promise<StackStatus> {
  let stack = input.stack;
  let deps = dependencyMap(stack);
  let dependents = dependentsMap(deps);
  const stackDir = `${stack.home}/${stack.name}`;
  const status: Record<string, ServiceStatus> = {};
  const launched = new Set<string>();
  const finished = new Set<string>();
  const stopSent = new Set<string>();
  const children = new Map<string, ChildWorkflowHandle<typeof serviceWorkflow>>();
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
      if (status[name]) continue;
      const spec = stack.services[name];
      status[name] = emptyServiceStatus(spec.host, spec.port);
      added.push(name);
    }
    changed();
    return added;
  }

  function launch(name: string): void {
    const spec = stack.services[name];
    launched.add(name);
    status[name].state = 'starting';
    startChild(serviceWorkflow, {
      workflowId: serviceWorkflowId(stack.name, name),
      taskQueue: input.workflowQueue,
      args: [
        {
          stack: stack.name,
          stackDir,
          spec,
          parentWorkflowId: workflowInfo().workflowId,
          workflowQueue: input.workflowQueue,
          tuning: input.tuning,
          carried: { restarts: status[name].restarts, restartTimes: [], lastExit: status[name].lastExit, phase: 'starting' },
        },
      ],
      // Service workflows must outlive a continue-as-new of this one; the drain stops them explicitly.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${name}: ${spec.command.join(' ')}`,
      typedSearchAttributes: [{ key: stackNameKey, value: stack.name }],
    }).then(
      (handle) => {
        children.set(name, handle);
        changed();
        handle.result().then(
          (outcome) => settle(name, outcome),
          (err: Error) => settle(name, { state: 'failed', restarts: status[name].restarts, lastExit: null, error: err.message }),
        );
      },
      (err: Error) => settle(name, { state: 'failed', restarts: 0, lastExit: null, error: `could not start its workflow: ${err.message}` }),
    );
  }

  function settle(name: string, outcome: ServiceOutcome): void {
    finished.add(name);
    Object.assign(status[name], {
      state: outcome.state,
      pid: null,
      restarts: outcome.restarts,
      lastExit: outcome.lastExit ?? status[name].lastExit,
      error: outcome.error,
    });
    changed();
  }

  /** Forgets a stopped or finished service's run so the main loop starts it again when it can. */
  function relaunchLater(name: string): void {
    launched.delete(name);
    finished.delete(name);
    stopSent.delete(name);
    children.delete(name);
    const before = status[name];
    status[name] = { ...emptyServiceStatus(before.host, before.port ?? undefined), restarts: before.restarts + 1, lastExit: before.lastExit };
    changed();
  }

  function startWhatIsReady(): void {
    for (const [name, current] of Object.entries(status)) {
      if (launched.has(name) || current.state !== 'pending') continue;
      const verdicts = Object.entries(stack.services[name].dependsOn).map(([dep, { condition: cond }]) => ({
        dep,
        cond,
        verdict: dependencyVerdict(cond, status[dep]),
      }));
      const unreachable = verdicts.find((v) => v.verdict === 'unreachable');
      if (unreachable) {
        current.state = 'blocked';
        current.error = `needs ${unreachable.dep} ${unreachable.cond}, but it is ${status[unreachable.dep].state}`;
        changed();
      } else if (verdicts.every((v) => v.verdict === 'met')) {
        launch(name);
      }
    }
  }

  /** Stops the launched services among `names`, each only once every launched service that depends on it has finished. */
  async function stopInReverseOrder(names: string[], reason: string): Promise<void> {
    const targets = names.filter((name) => launched.has(name));
    while (targets.some((name) => !finished.has(name))) {
      const seen = version;
      for (const name of targets) {
        if (finished.has(name) || stopSent.has(name)) continue;
        const handle = children.get(name);
        if (!handle) continue;
        if ((dependents[name] ?? []).some((d) => launched.has(d) && !finished.has(d))) continue;
        stopSent.add(name);
        status[name].state = 'stopping';
        handle.signal(stopServiceSignal, { reason }).catch(() => {
          // Already completed: its result settles it.
        });
      }
      await condition(() => version !== seen);
    }
  }

  function restartProblem(request: RestartRequest): string | null {
    if (phase !== 'running') return `stack ${stack.name} is shutting down`;
    const current = status[request.service];
    if (!current) return `unknown service "${request.service}" (the stack runs: ${Object.keys(status).join(', ')})`;
    if (!launched.has(request.service)) return `${request.service} has not started (it is ${current.state})`;
    return null;
  }

  async function restart(request: RestartRequest): Promise<void> {
    const { service } = request;
    const dependentsToCycle = request.withDependents ? transitiveDependents(deps, service).filter((d) => launched.has(d)) : [];
    await stopInReverseOrder(dependentsToCycle, `restart of ${service}`);
    for (const dependent of dependentsToCycle) relaunchLater(dependent);

    const healthyBefore = status[service].healthyAt;
    if (finished.has(service)) {
      relaunchLater(service);
    } else {
      await condition(() => children.has(service) || finished.has(service));
      status[service].state = 'restarting';
      changed();
      children.get(service)?.signal(restartNowSignal).catch(() => undefined);
    }
    await condition(() => {
      const s = status[service];
      return phase !== 'running' || s.state === 'failed' || (s.state === 'healthy' && s.healthyAt !== healthyBefore);
    });
    const after = status[service];
    if (after.state !== 'healthy') {
      throw ApplicationFailure.nonRetryable(`${service} did not become healthy again: it is ${after.state}${after.error ? ` (${after.error})` : ''}`);
    }
  }

  setHandler(statusQuery, snapshot);
  setHandler(shutdownSignal, () => {
    if (phase === 'running') phase = 'draining';
    changed();
  });
  setHandler(serviceReportSignal, (report: ServiceReport) => {
    const current = status[report.service];
    if (!current || finished.has(report.service) || !launched.has(report.service)) return;
    const { service: _service, ...fields } = report;
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
  setHandler(
    startServicesUpdate,
    (request: StartServicesRequest) => {
      stack = { ...stack, services: { ...stack.services, ...request.stack.services } };
      deps = dependencyMap(stack);
      dependents = dependentsMap(deps);
      return want(request.services);
    },
    {
      validator: (request: StartServicesRequest) => {
        if (phase !== 'running') throw new Error(`stack ${stack.name} is shutting down`);
        const unknown = request.services.filter((name) => !request.stack.services[name]);
        if (unknown.length) throw new Error(`unknown service(s): ${unknown.join(', ')}`);
      },
    },
  );

  want(input.services.length ? input.services : Object.keys(stack.services));

  while (phase === 'running') {
    const seen = version;
    startWhatIsReady();
    await condition(() => phase !== 'running' || version !== seen);
  }

  for (const [name, current] of Object.entries(status)) {
    if (!launched.has(name) && current.state === 'pending') current.state = 'stopped';
  }
  await stopInReverseOrder(Object.keys(status), 'stack shutdown');
  phase = 'drained';
  return snapshot();
}
