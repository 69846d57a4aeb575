// The stack: starts one service workflow per service the moment its dependencies meet their
// conditions, keeps the status current from the children's reports, and drains in reverse order.
import {
  ApplicationFailure,
  condition,
  ParentClosePolicy,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { ServiceStatus, StackSpec, StackStatus } from '../model.js';
import { dependencyMap, dependencyVerdict } from '../lifecycle/dependencies.js';
import { emptyServiceStatus, reduceStackState, type StackPhase } from '../lifecycle/status.js';
import { dependentsOf, withDependencies } from '../graph/index.js';
import {
  serviceReportSignal,
  serviceWorkflowId,
  shutdownSignal,
  stackNameKey,
  startServicesUpdate,
  statusQuery,
  stopServiceSignal,
  type ServiceReport,
  type StartServicesRequest,
} from './definitions.js';
import { serviceWorkflow, type ServiceOutcome, type Timing } from './service.js';

export interface StackWorkflowInput {
  stack: StackSpec;
  /** The services to run (dependencies included); all of them when empty. */
  services: string[];
  workflowQueue: string;
  timing: Timing;
}

export async function stackWorkflow(input: StackWorkflowInput): Promise<StackStatus> {
  let stack = input.stack;
  const stackDir = `${stack.home}/${stack.name}`;
  const status: Record<string, ServiceStatus> = {};
  const launched = new Set<string>();
  const finished = new Set<string>();
  const stopSent = new Set<string>();
  const children = new Map<string, ChildWorkflowHandle<typeof serviceWorkflow>>();
  let phase: StackPhase = 'running';
  /** Bumped on every change the main loop may need to act on. */
  let version = 0;

  const snapshot = (): StackStatus => ({
    stack: stack.name,
    state: reduceStackState(Object.values(status), phase),
    services: status,
  });

  function want(names: string[]): string[] {
    const deps = dependencyMap(stack);
    const added: string[] = [];
    for (const name of withDependencies(deps, names)) {
      if (status[name]) continue;
      const spec = stack.services[name];
      status[name] = emptyServiceStatus(spec.host, spec.port);
      added.push(name);
    }
    version++;
    return added;
  }

  setHandler(statusQuery, snapshot);
  setHandler(shutdownSignal, () => {
    if (phase === 'running') phase = 'draining';
    version++;
  });
  setHandler(serviceReportSignal, (report: ServiceReport) => {
    const current = status[report.service];
    if (!current || finished.has(report.service)) return;
    const { service: _service, ...fields } = report;
    Object.assign(current, fields);
    version++;
  });
  setHandler(
    startServicesUpdate,
    (request) => {
      stack = { ...stack, services: { ...stack.services, ...request.stack.services } };
      return want(request.services);
    },
    {
      validator: (request: StartServicesRequest) => {
        if (phase !== 'running') throw ApplicationFailure.nonRetryable(`stack ${stack.name} is shutting down`);
        const unknown = request.services.filter((name) => !request.stack.services[name]);
        if (unknown.length) throw ApplicationFailure.nonRetryable(`unknown service(s): ${unknown.join(', ')}`);
      },
    },
  );

  want(input.services.length ? input.services : Object.keys(stack.services));

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
          timing: input.timing,
        },
      ],
      // Service workflows must outlive a continue-as-new of this one; the drain stops them explicitly.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${name}: ${spec.command.join(' ')}`,
      typedSearchAttributes: [{ key: stackNameKey, value: stack.name }],
    }).then(
      (handle) => {
        children.set(name, handle);
        version++;
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
    version++;
  }

  function startWhatIsReady(): void {
    for (const [name, current] of Object.entries(status)) {
      if (launched.has(name) || current.state !== 'pending') continue;
      const spec = stack.services[name];
      const verdicts = Object.entries(spec.dependsOn).map(([dep, { condition: cond }]) => ({
        dep,
        cond,
        verdict: dependencyVerdict(cond, status[dep]),
      }));
      const unreachable = verdicts.find((v) => v.verdict === 'unreachable');
      if (unreachable) {
        current.state = 'blocked';
        current.error = `needs ${unreachable.dep} ${unreachable.cond}, but it is ${status[unreachable.dep].state}`;
        version++;
      } else if (verdicts.every((v) => v.verdict === 'met')) {
        launch(name);
      }
    }
  }

  while (phase === 'running') {
    const seen = version;
    startWhatIsReady();
    await condition(() => phase !== 'running' || version !== seen);
  }

  await drain(stack, status, { launched, finished, stopSent, children, changed: () => version });
  phase = 'drained';
  return snapshot();
}

interface DrainState {
  launched: Set<string>;
  finished: Set<string>;
  stopSent: Set<string>;
  children: Map<string, ChildWorkflowHandle<typeof serviceWorkflow>>;
  changed: () => number;
}

/** A service is told to stop only once every launched service that depends on it has finished. */
async function drain(stack: StackSpec, status: Record<string, ServiceStatus>, s: DrainState): Promise<void> {
  for (const [name, current] of Object.entries(status)) {
    if (!s.launched.has(name) && current.state === 'pending') current.state = 'stopped';
  }
  const deps = dependencyMap(stack);
  const dependents = new Map([...s.launched].map((name) => [name, dependentsOf(deps, name)]));
  while ([...s.launched].some((name) => !s.finished.has(name))) {
    const seen = s.changed();
    for (const name of s.launched) {
      if (s.finished.has(name) || s.stopSent.has(name)) continue;
      const handle = s.children.get(name);
      if (!handle) continue;
      const waitingOn = dependents.get(name)!.filter((d) => s.launched.has(d) && !s.finished.has(d));
      if (waitingOn.length) continue;
      s.stopSent.add(name);
      status[name].state = 'stopping';
      handle.signal(stopServiceSignal, { reason: 'stack shutdown' }).catch(() => {
        // Already completed: its result settles it.
      });
    }
    await condition(() => s.changed() !== seen);
  }
}
