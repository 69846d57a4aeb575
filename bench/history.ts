// What the Temporal histories say: events per service, and the event timeline of one hand-off
// (dependency ready -> ... -> dependent spawned), the evidence for where hand-off time goes.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { serviceWorkflowId, stackWorkflowId } from '../src/workflows/definitions.js';
import type { Handoff, ServiceTimes } from './metrics.js';

export interface HistoryStats {
  stackEvents: number;
  /** Workflows of the stack other than the stack workflow (per-service children, if the design has them). */
  otherWorkflows: number;
  /** Events of one service workflow: mean and max over the services. */
  serviceEventsMean: number;
  serviceEventsMax: number;
  /** All events of all the stack's workflows (every run) divided by the number of services. */
  eventsPerService: number;
  /** WorkflowTaskCompleted events of all the stack's workflows divided by the number of services. */
  workflowTasksPerService: number;
  stackWorkflowTasks: number;
  /** Means over every workflow task / activity of the run, in ms: where the hand-off time goes. */
  workflowTaskScheduleToStartMs: number;
  workflowTaskStartToCompleteMs: number;
  activityScheduleToStartMs: number;
  /** When the stack workflow started (epoch ms): splits `up`'s start lag into CLI and workflow parts. */
  stackStartedAt: number;
  /** Runs of the stack workflow (continue-as-new); its counts above cover all of them. */
  stackRuns: number;
  /** Event types of one service workflow with dependencies, for the record. */
  exampleServiceEventTypes: Record<string, number>;
}

interface Summary {
  startedAt: number;
  events: number;
  types: Record<string, number>;
  wft: { count: number; waitMs: number; runMs: number };
  activities: { count: number; waitMs: number };
}

function merge(a: Summary, b: Summary): Summary {
  const types = { ...a.types };
  for (const [t, n] of Object.entries(b.types)) types[t] = (types[t] ?? 0) + n;
  return {
    startedAt: Math.min(a.startedAt, b.startedAt),
    events: a.events + b.events,
    types,
    wft: { count: a.wft.count + b.wft.count, waitMs: a.wft.waitMs + b.wft.waitMs, runMs: a.wft.runMs + b.wft.runMs },
    activities: { count: a.activities.count + b.activities.count, waitMs: a.activities.waitMs + b.activities.waitMs },
  };
}

/** Counts events and adds up task latencies: each Started/Completed event points at its Scheduled one. */
function summarize(history: Event[]): Summary {
  const at = new Map<string, number>();
  const s: Summary = { startedAt: history[0] ? epochMs(history[0]) : NaN, events: history.length, types: {}, wft: { count: 0, waitMs: 0, runMs: 0 }, activities: { count: 0, waitMs: 0 } };
  for (const e of history) {
    const [type, a] = kind(e);
    const t = epochMs(e);
    at.set(String(e.eventId), t);
    s.types[type] = (s.types[type] ?? 0) + 1;
    const scheduled = at.get(String(a.scheduledEventId));
    if (type === 'WorkflowTaskStarted' && scheduled !== undefined) s.wft.waitMs += t - scheduled;
    if (type === 'WorkflowTaskCompleted') {
      s.wft.count++;
      s.wft.runMs += t - (at.get(String((a as { startedEventId?: unknown }).startedEventId)) ?? t);
    }
    if (type === 'ActivityTaskStarted' && scheduled !== undefined) {
      s.activities.count++;
      s.activities.waitMs += t - scheduled;
    }
  }
  return s;
}

export interface TraceStep {
  /** ms after the dependency stamped itself ready. */
  atMs: number;
  where: string;
  what: string;
}

// The SDK returns history events as decoded protobuf messages; only these fields are read here.
interface Event {
  eventId?: { toString(): string } | null;
  eventTime?: { seconds?: { toString(): string } | null; nanos?: number | null } | null;
  [attributes: string]: unknown;
}

type Attributes = Record<string, unknown> & {
  activityType?: { name?: string };
  scheduledEventId?: { toString(): string };
  signalName?: string;
  workflowId?: string;
  input?: { payloads?: unknown[] };
};

async function events(client: Client, workflowId: string): Promise<Event[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []) as unknown as Event[];
}

/** Every run of a workflow id, oldest first: the stack workflow continues-as-new as its history grows. */
async function allRuns(client: Client, workflowId: string): Promise<Event[][]> {
  const runs: { runId: string; startTime: Date }[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(w);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  if (!runs.length) return [await events(client, workflowId)];
  return Promise.all(
    runs.map(async (r) => ((await client.workflow.getHandle(workflowId, r.runId).fetchHistory()).events ?? []) as unknown as Event[]),
  );
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** One run of one workflow of a stack, with its events. */
interface WorkflowRun {
  workflowId: string;
  startTime: Date;
  events: Event[];
}

/**
 * Every run of every workflow that carries the stack's StackName search attribute (the stack
 * workflow, its continue-as-new runs, whatever children it has), oldest first: counts do not
 * depend on how the workflows are shaped.
 */
async function stackRuns(client: Client, stack: string): Promise<WorkflowRun[]> {
  const runs: { workflowId: string; runId: string; startTime: Date }[] = [];
  for await (const w of client.workflow.list({ query: `StackName = '${stack}'` })) runs.push(w);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  return mapLimited(runs, 16, async (r) => ({
    workflowId: r.workflowId,
    startTime: r.startTime,
    events: ((await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory()).events ?? []) as unknown as Event[],
  }));
}

/** `services`: how many services the stack has (the divisor of the per-service figures). */
export async function historyStats(client: Client, stack: string, services: number, example: string): Promise<HistoryStats> {
  const runs = await stackRuns(client, stack);
  const stackId = stackWorkflowId(stack);
  const parentRuns = runs.filter((r) => r.workflowId === stackId).map((r) => summarize(r.events));
  if (!parentRuns.length) throw new Error(`no history of ${stackId} found through the StackName search attribute`);
  const parent = parentRuns.reduce(merge);
  const others = runs.filter((r) => r.workflowId !== stackId);
  const children = others.map((r) => summarize(r.events));
  const all = [parent, ...children];
  const sum = (f: (s: Summary) => number) => all.reduce((total, s) => total + f(s), 0);
  const childEvents = children.map((c) => c.events);
  const exampleId = serviceWorkflowId(stack, example);
  return {
    stackEvents: parent.events,
    otherWorkflows: new Set(others.map((r) => r.workflowId)).size,
    serviceEventsMean: childEvents.length ? childEvents.reduce((a, b) => a + b, 0) / childEvents.length : NaN,
    serviceEventsMax: childEvents.length ? Math.max(...childEvents) : NaN,
    eventsPerService: sum((s) => s.events) / services,
    workflowTasksPerService: sum((s) => s.wft.count) / services,
    stackWorkflowTasks: parent.wft.count,
    workflowTaskScheduleToStartMs: sum((s) => s.wft.waitMs) / sum((s) => s.wft.count),
    workflowTaskStartToCompleteMs: sum((s) => s.wft.runMs) / sum((s) => s.wft.count),
    activityScheduleToStartMs: sum((s) => s.activities.waitMs) / sum((s) => s.activities.count),
    stackStartedAt: parentRuns[0]!.startedAt,
    stackRuns: parentRuns.length,
    exampleServiceEventTypes: children[others.findIndex((r) => r.workflowId === exampleId)]?.types ?? {},
  };
}

/**
 * The durations (ms) of every durable timer the stack's workflows started, in start order: the
 * restart back-offs as the workflow drew them (with their jitter).
 */
export async function timerDurations(client: Client, stack: string): Promise<{ startedAt: number; ms: number }[]> {
  const timers: { startedAt: number; ms: number }[] = [];
  for (const run of await stackRuns(client, stack)) {
    for (const e of run.events) {
      const [type, a] = kind(e);
      const timeout = (a as { startToFireTimeout?: { seconds?: { toString(): string } | null; nanos?: number | null } }).startToFireTimeout;
      if (type === 'TimerStarted' && timeout) timers.push({ startedAt: epochMs(e), ms: Number(timeout.seconds?.toString() ?? 0) * 1000 + (timeout.nanos ?? 0) / 1e6 });
    }
  }
  return timers.sort((x, y) => x.startedAt - y.startedAt);
}

const epochMs = (e: Event) => Number(e.eventTime?.seconds?.toString() ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

/** `activityTaskScheduledEventAttributes` -> [`ActivityTaskScheduled`, its attributes]. */
function kind(e: Event): [string, Attributes] {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k]);
  if (!key) return ['?', {}];
  const name = key.replace(/EventAttributes$/, '');
  return [name[0]!.toUpperCase() + name.slice(1), e[key] as Attributes];
}

function firstPayload(a: Attributes): Record<string, unknown> | null {
  const payload = a.input?.payloads?.[0];
  try {
    return payload ? (defaultPayloadConverter.fromPayload(payload as never) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Labels events; drops the stack workflow's traffic about services other than the two traced. */
function describe(history: Event[], keep: (type: string, a: Attributes) => boolean): { t: number; what: string }[] {
  const activityNames = new Map<string, string>();
  const steps: { t: number; what: string }[] = [];
  for (const e of history) {
    const [type, a] = kind(e);
    if (type === 'ActivityTaskScheduled') activityNames.set(String(e.eventId), a.activityType?.name ?? '?');
    if (!keep(type, a)) continue;
    let detail = '';
    if (type.startsWith('ActivityTask')) detail = activityNames.get(String(a.scheduledEventId ?? e.eventId)) ?? '';
    else if (type.includes('Signal')) {
      const body = firstPayload(a);
      detail = `${a.signalName ?? ''}${body?.service ? ` ${body.service}→${body.state}` : ''}`;
    } else if (a.workflowId) detail = a.workflowId;
    steps.push({ t: epochMs(e), what: `${type} ${detail}`.trim() });
  }
  return steps;
}

/**
 * The three histories a hand-off crosses (the dependency's service workflow, the stack workflow,
 * the dependent's service workflow), cut to the window from the dependency's ready stamp to the
 * dependent's spawn stamp, merged with those two stamps in time order.
 */
export async function handoffTrace(
  client: Client,
  stack: string,
  h: Handoff,
  times: Map<string, ServiceTimes>,
): Promise<TraceStep[]> {
  const from = times.get(h.dep)!.ready - 1;
  const to = times.get(h.service)!.spawn + 1;
  const depId = serviceWorkflowId(stack, h.dep);
  const svcId = serviceWorkflowId(stack, h.service);
  const inWindow = (steps: { t: number; what: string }[], where: string) =>
    steps.filter((s) => s.t >= from && s.t <= to).map((s) => ({ ...s, where }));
  const aboutTraced = (type: string, a: Attributes) => {
    if (type === 'WorkflowExecutionSignaled') return firstPayload(a)?.service === h.dep;
    if (type.includes('ChildWorkflowExecution')) return a.workflowId === svcId || (a as { workflowExecution?: { workflowId?: string } }).workflowExecution?.workflowId === svcId;
    return true;
  };
  const [dep, parent, svc] = await Promise.all([
    events(client, depId).then((e) => describe(e, () => true)),
    allRuns(client, stackWorkflowId(stack)).then((runs) => runs.flatMap((e) => describe(e, aboutTraced))),
    events(client, svcId).then((e) => describe(e, () => true)),
  ]);
  const steps = [
    { t: times.get(h.dep)!.ready, what: 'ready (its own stamp)', where: h.dep },
    ...inWindow(dep, h.dep),
    ...inWindow(parent, 'stack'),
    ...inWindow(svc, h.service),
    { t: times.get(h.service)!.spawn, what: 'spawn (its own stamp)', where: h.service },
  ].sort((a, b) => a.t - b.t);
  return steps.map((s) => ({ atMs: s.t - (from + 1), where: s.where, what: s.what }));
}
