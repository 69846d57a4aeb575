// Results: their shape, the table on stdout, the issue-8 targets, and the JSON file.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CliFigures } from './cli-latency.js';
import type { BenchCase } from './generate.js';
import type { RestartSample } from './restart.js';
import type { HistoryStats, TraceStep } from './history.js';
import type { Distribution, DrainMetrics, Handoff, StartMetrics } from './metrics.js';

export interface RunResult {
  runner: string;
  start: StartMetrics;
  drain: DrainMetrics | null;
  peakRssBytes: number | null;
  history: HistoryStats | null;
  /** Service processes still alive after the stop: should be 0. */
  leftovers: number;
  /** CPU used while starting (command launched to all ready): the orchestrator process, and Temporal's server. */
  cpu?: { orchestratorMs: number; temporalServerMs: number | null };
  /** The machine around the run: others' load skews every figure. */
  machine?: { load1Before: number; busyPercent: number };
  traces?: { median: Trace; max: Trace };
  /** With --repeat: the `up` time of every run; this record is the median one. */
  upSamplesMs?: number[];
  /** Warm runs: from spawning `stackflow worker` to it polling both task queues. */
  workerBootMs?: number;
  /** Warm runs: the worker's peak RSS once it polls, before any stack runs on it. */
  workerIdleRssBytes?: number | null;
}

export interface Trace {
  handoff: Handoff;
  steps: TraceStep[];
}

export interface CaseResult {
  case: BenchCase;
  runs: RunResult[];
  errors: { runner: string; message: string }[];
}

export interface BenchResults {
  date: string;
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  processCompose: { path: string; version: string } | null;
  notes: string[];
  cases: CaseResult[];
  /** Start-up of the CLI (case `cli`). */
  cli?: CliFigures;
  /** Crash -> restart (case `restart`). */
  restart?: RestartSample[];
}

export interface Target {
  target: string;
  measured: string;
  /** null: not measured in this run. */
  met: boolean | null;
}

const ms = (v: number | null | undefined) => (v === null || v === undefined || Number.isNaN(v) ? '-' : String(Math.round(v)));
const x = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(2));
const mb = (v: number | null) => (v === null ? '-' : `${Math.round(v / 2 ** 20)}M`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

export const run = (c: CaseResult, runner: string) => c.runs.find((r) => r.runner === runner);

/** Worker (or process-compose) plus Temporal server CPU while starting, in ms. */
const upCpuMs = (r: RunResult) => (r.cpu ? r.cpu.orchestratorMs + (r.cpu.temporalServerMs ?? 0) : NaN);
const dist = (d: Distribution) => `median ${ms(d.median)} min ${ms(d.min)} max ${ms(d.max)}`;
const distP90 = (d: Distribution) => `median ${ms(d.median)} p90 ${ms(d.p90)} min ${ms(d.min)} max ${ms(d.max)}`;
/** `status`'s own time: its median wall time less the median time the server took for the same reads. */
const statusOwnMs = (c: CliFigures) => c.statusMs.median - c.statusServerMs.median;

/** The `cli` and `restart` cases, as text; empty when neither ran. */
export function probesText(results: BenchResults): string {
  const lines: string[] = [];
  const c = results.cli;
  if (c) {
    lines.push(
      `CLI start-up (ms, launch to exit): --help ${distP90(c.helpMs)}; validate ${dist(c.validateMs)}`,
      `CLI status of a running six-service stack (${c.startupRounds} runs each, ms, launch to exit): over HTTP ${distP90(c.statusMs)}; -p (no stack file) ${distP90(c.statusByNameMs)}; through the SDK ${distP90(c.statusSdkMs)}`,
      `  the server's share (the same reads from a warm process): ${distP90(c.statusServerMs)}; our own time (wall - server, medians): status ${ms(statusOwnMs(c))}, status -p ${ms(c.statusByNameMs.median - c.statusServerMs.median)}`,
      `CLI up -d -> stack workflow started, worker polling (one-service stacks): ${dist(c.upToWorkflowStartMs)}; the whole up -d ${dist(c.upMs)}`,
    );
  }
  const r = results.restart;
  if (r) {
    const each = r.map((s) => `back-off ${ms(s.backoffMs)}${s.fromTimer ? '' : ' (nominal)'}: crash->spawn ${ms(s.crashToSpawnMs)} = +${ms(s.overheadMs)}`);
    lines.push(`restart (SIGKILL -> next spawn, ms): ${each.join('; ')}`);
  }
  return lines.join('\n');
}

export function caseTable(c: CaseResult): string {
  const k = c.case;
  const header = ['runner', 'up', 'span', 'crit', 'up/crit', 'span/crit', 'startlag', 'retlag', 'handoff med/p95/max', 'down', 'termspan', 'peakRSS', 'upCPU', 'cpu/svc', 'ev/svc', 'wft/svc', 'left', 'load/busy%'];
  const rows = c.runs.map((r) => [
    r.runner,
    ms(r.start.upMs),
    ms(r.start.spanMs),
    ms(r.start.criticalPathMs),
    x(r.start.upOverCriticalPath),
    x(r.start.spanOverCriticalPath),
    ms(r.start.startLagMs),
    ms(r.start.returnLagMs),
    `${ms(r.start.handoff.median)}/${ms(r.start.handoff.p95)}/${ms(r.start.handoff.max)}`,
    ms(r.drain?.downMs),
    ms(r.drain?.termSpanMs),
    mb(r.peakRssBytes),
    r.cpu ? ms(upCpuMs(r)) : '-',
    r.cpu ? (upCpuMs(r) / k.services).toFixed(1) : '-',
    r.history ? r.history.eventsPerService.toFixed(1) : '-',
    r.history ? r.history.workflowTasksPerService.toFixed(1) : '-',
    String(r.leftovers),
    r.machine ? `${r.machine.load1Before.toFixed(1)}/${Math.round(r.machine.busyPercent)}` : '-',
  ]);
  const lines = [`case ${k.name}: N=${k.services} D=${k.depth} R=${k.readyMs}ms (seed ${k.seed}); times in ms`, table([header, ...rows])];
  const warm = run(c, 'ours-warm');
  const ratio = (other: string) => {
    const o = run(c, other);
    return warm && o ? `ours-warm/${other} up ${x(warm.start.upMs / o.start.upMs)} span ${x(warm.start.spanMs / o.start.spanMs)}` : null;
  };
  const cold = run(c, 'ours-cold');
  const extra = [
    ratio('process-compose'),
    ratio('tight'),
    ratio('sequential'),
    cold && warm ? `cold up - warm up = ${ms(cold.start.upMs - warm.start.upMs)} ms` : null,
  ].filter((l): l is string => l !== null);
  if (extra.length) lines.push(extra.join(' | '));
  for (const r of c.runs) {
    const h = r.history;
    if (!h) continue;
    const cliMs = h.stackStartedAt - (r.start.upStartedAt ?? NaN);
    lines.push(
      `${r.runner}: start lag = CLI to workflow start ${ms(cliMs)} ms + workflow start to first spawn ${ms(r.start.startLagMs - cliMs)} ms; ` +
        `${h.workflowTasksPerService.toFixed(1)} workflow tasks/service (stack ${h.stackWorkflowTasks} in ${h.stackRuns} run(s)); mean workflow task ` +
        `schedule->start ${ms(h.workflowTaskScheduleToStartMs)} ms, start->complete ${ms(h.workflowTaskStartToCompleteMs)} ms; ` +
        `activity schedule->start ${ms(h.activityScheduleToStartMs)} ms; CPU during up: worker ${ms(r.cpu?.orchestratorMs)} ms, ` +
        `Temporal server ${ms(r.cpu?.temporalServerMs)} ms` +
        (r.workerBootMs ? `; worker spawn to polling ${ms(r.workerBootMs)} ms, its RSS then ${mb(r.workerIdleRssBytes ?? null)}` : ''),
    );
  }
  for (const r of c.runs) if (r.upSamplesMs) lines.push(`${r.runner}: up of each round ${r.upSamplesMs.map(ms).join(', ')} (the median round is shown)`);
  for (const e of c.errors) lines.push(`FAILED ${e.runner}: ${e.message.split('\n')[0]}`);
  return lines.join('\n');
}

export function traceText(trace: Trace, label: string): string {
  const h = trace.handoff;
  const lines = [`${label} hand-off: ${h.dep} ready -> ${h.service} spawned = ${ms(h.ms)} ms`];
  for (const s of trace.steps) lines.push(`  +${s.atMs.toFixed(1).padStart(6)} ms  ${s.where.padEnd(6)} ${s.what}`);
  return lines.join('\n');
}

/** Issue 8's targets, each met, missed or not measured in this run (a case or a runner left out). */
export function targets(results: BenchResults): Target[] {
  const byName = (name: string) => results.cases.find((c) => c.case.name === name);
  const warm = (name: string) => {
    const k = byName(name);
    return k && run(k, 'ours-warm');
  };
  const ratio = (name: string, other: string) => {
    const k = byName(name);
    const [w, o] = [k && run(k, 'ours-warm'), k && run(k, other)];
    return w && o ? w.start.upMs / o.start.upMs : undefined;
  };
  const check = (target: string, value: number | undefined, limit: number, show: (v: number) => string): Target => ({
    target,
    measured: value === undefined || Number.isNaN(value) ? 'not measured' : show(value),
    met: value === undefined || Number.isNaN(value) ? null : value <= limit,
  });
  const coldGaps = results.cases
    .map((k) => [run(k, 'ours-cold'), run(k, 'ours-warm')] as const)
    .filter(([cold, w]) => cold && w)
    .map(([cold, w]) => cold!.start.upMs - w!.start.upMs);
  const c = byName('c');
  const cRss = c ? [run(c, 'ours-cold'), run(c, 'ours-warm')].map((r) => r?.peakRssBytes ?? NaN).filter(Number.isFinite) : [];
  const cw = warm('c');
  const bw = warm('b');
  const restartOverheads = results.restart?.map((r) => r.overheadMs);
  const perService = (r: RunResult | undefined, f: (h: HistoryStats) => number) => (r?.history ? f(r.history) : undefined);
  return [
    ...['a', 'b'].flatMap((k) => [
      check(`(${k}) hand-off median <= 25 ms`, warm(k)?.start.handoff.median, 25, (v) => `${ms(v)} ms`),
      check(`(${k}) hand-off max <= 100 ms`, warm(k)?.start.handoff.max, 100, (v) => `${ms(v)} ms`),
      check(`(${k}) warm up <= 1.3 x tight starter`, ratio(k, 'tight'), 1.3, (v) => `${x(v)} x`),
    ]),
    check('(b) warm up <= 0.5 x process-compose', ratio('b', 'process-compose'), 0.5, (v) => `${x(v)} x`),
    check('(c) warm up <= 0.8 x process-compose', ratio('c', 'process-compose'), 0.8, (v) => `${x(v)} x`),
    check('(b) drain <= 300 ms', bw?.drain?.downMs, 300, (v) => `${ms(v)} ms`),
    check('(c) drain <= 1 s', cw?.drain?.downMs, 1000, (v) => `${ms(v)} ms`),
    check('(c) worker + server CPU during up <= 15 ms per service', cw?.cpu ? upCpuMs(cw) / c!.case.services : undefined, 15, (v) => `${v.toFixed(1)} ms`),
    check('(b) history events <= 25 per service', perService(bw, (h) => h.eventsPerService), 25, (v) => v.toFixed(1)),
    check('(b) workflow tasks <= 3 per service', perService(bw, (h) => h.workflowTasksPerService), 3, (v) => v.toFixed(1)),
    check('(c) worker peak RSS <= 250 MB (the larger of cold and warm)', cRss.length ? Math.max(...cRss) : undefined, 250 * 2 ** 20, (v) => mb(v)),
    check('CLI up -d -> workflow started <= 250 ms (median)', results.cli?.upToWorkflowStartMs.median, 250, (v) => `${ms(v)} ms`),
    check('CLI --help <= 300 ms (median wall)', results.cli?.helpMs.median, 300, (v) => `${ms(v)} ms`),
    check('CLI status <= 300 ms of our own time (median wall - server)', results.cli ? statusOwnMs(results.cli) : undefined, 300, (v) => `${ms(v)} ms`),
    check('cold up - warm up <= 600 ms (worst case)', coldGaps.length ? Math.max(...coldGaps) : undefined, 600, (v) => `${ms(v)} ms`),
    check('restart: crash -> spawn <= back-off + 50 ms (worst)', restartOverheads?.length ? Math.max(...restartOverheads) : undefined, 50, (v) => `+${ms(v)} ms`),
  ];
}

export function targetsText(list: Target[]): string {
  return ['issue-8 targets:', ...list.map((t) => `  [${t.met === null ? ' - ' : t.met ? 'met' : 'MISS'}] ${t.target}: ${t.measured}`)].join('\n');
}

export async function writeResults(dir: string, results: BenchResults): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `bench-${results.date.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ ...results, targets: targets(results) }, null, 2) + '\n');
  return file;
}
