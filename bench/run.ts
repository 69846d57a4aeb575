// `npm run bench [-- --case a|b|c|example|cli|restart ...] [--runner ...] [--smoke]`: see bench/README.md.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { generateKey, loadKeyring, stackflowDataConverter } from '../src/codec/index.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { resolveTemporalCli } from '../src/temporal/cli-binary.js';
import { findFreePort, startDevServer } from '../src/temporal/dev-server.js';
import { runBaseline } from './baselines.js';
import { allocatePorts, CASES, exampleInstance, generateDag, type BenchCase, type StackInstance } from './generate.js';
import { runCliLatency } from './cli-latency.js';
import { runRestartLatency } from './restart.js';
import { Cleanup, cpuTicks, killSurvivors, runCommand } from './processes.js';
import { caseTable, probesText, targets, targetsText, traceText, writeResults, type BenchResults, type CaseResult, type RunResult } from './report.js';
import { runOurs, type TemporalTarget } from './run-ours.js';
import { findProcessCompose, processComposeVersion, runProcessCompose } from './run-process-compose.js';

const { values: args } = parseArgs({
  options: {
    case: { type: 'string', multiple: true },
    runner: { type: 'string', multiple: true },
    smoke: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    'temporal-arg': { type: 'string', multiple: true },
  },
});
const repeat = Math.max(1, Number(args.repeat) || 1);

const cleanup = new Cleanup();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping everything the bench started...`);
    void cleanup.runAll().finally(() => process.exit(130));
  });
}

type Runner = 'ours-cold' | 'ours-warm' | 'process-compose' | 'tight' | 'sequential';

interface Setup {
  work: string;
  python: string;
  temporal: TemporalTarget;
  processCompose: string | null;
}

/** Small cases of their own, not stacks run by every runner: CLI start-up timings and restart latency. */
const PROBES = ['cli', 'restart'] as const;
type Probe = (typeof PROBES)[number];

function selectedCases(): { cases: BenchCase[]; probes: Probe[] } {
  if (args.smoke) return { cases: [CASES[0]!], probes: [...PROBES] };
  const names = (args.case ?? []).flatMap((c) => c.split(','));
  if (!names.length) return { cases: CASES, probes: [...PROBES] };
  const known = [...CASES.map((c) => c.name), ...PROBES];
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) throw new Error(`unknown case(s) ${unknown.join(', ')}; choose from ${known.join(', ')}`);
  return { cases: CASES.filter((c) => names.includes(c.name)), probes: PROBES.filter((p) => names.includes(p)) };
}

const RUNNERS: Runner[] = ['ours-cold', 'ours-warm', 'process-compose', 'tight', 'sequential'];

/** `available` narrowed to the --runner flags (repeatable or a comma list), when given. */
function selectedRunners(available: Runner[]): Runner[] {
  const names = (args.runner ?? []).flatMap((r) => r.split(','));
  if (!names.length) return available;
  const unknown = names.filter((n) => !RUNNERS.includes(n as Runner));
  if (unknown.length) throw new Error(`unknown runner(s) ${unknown.join(', ')}; choose from ${RUNNERS.join(', ')}`);
  return available.filter((r) => names.includes(r));
}

/** The interpreter's real path: a version manager's shim would add its own start-up to every service. */
async function realPython(): Promise<string> {
  const result = await runCommand('python3', ['-c', 'import sys; print(sys.executable)'], { timeoutMs: 20_000 });
  if (result.code !== 0) throw new Error(`python3 is needed for the bench services: ${result.output}`);
  return result.output.trim();
}

async function startTemporal(work: string): Promise<TemporalTarget> {
  const server = await startDevServer({
    cliPath: await resolveTemporalCli({ log: (line) => console.log(line) }),
    port: await findFreePort(),
    httpPort: await findFreePort(),
    logFile: path.join(work, 'temporal.log'),
    detached: false,
    // For experiments with the server's settings, e.g. --temporal-arg=--dynamic-config-value --temporal-arg=K=V
    extraArgs: args['temporal-arg'] ?? [],
  });
  cleanup.add('Temporal dev server', () => server.stop());
  const connection = await Connection.connect({ address: server.address });
  cleanup.add('Temporal client', () => connection.close());
  // The bench's own payload key (SPEC §7a), inherited by every stackflow command it runs: its client
  // reads what they write, and the user's key file is left alone.
  process.env.STACKFLOW_ENCRYPTION_KEY ||= generateKey();
  const dataConverter = stackflowDataConverter(await loadKeyring({ env: process.env, create: false }));
  return { address: server.address, httpAddress: server.httpAddress, client: new Client({ connection, dataConverter }), serverPid: server.pid };
}

/** The run with the median `up` time, keeping every sample's `up` time. */
function medianRun(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.start.upMs - b.start.upMs);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return runs.length > 1 ? { ...median, upSamplesMs: runs.map((r) => r.start.upMs) } : median;
}

/** A fresh copy of a generated case's stack: new free ports, its own timeline. */
async function generatedInstance(c: BenchCase, timelineFile: string, python: string): Promise<StackInstance> {
  const dag = generateDag(c);
  const env = { READY_DELAY_MS: String(c.readyMs), TIMELINE_FILE: timelineFile, BENCH_PYTHON: python };
  return { dag, ports: await allocatePorts(dag.names), env, timelineFile };
}

async function runOne(runner: Runner | 'prime', c: BenchCase, setup: Setup, round = 0): Promise<RunResult> {
  const runDir = path.join(setup.work, `${c.name}-${runner}${round ? `-${round + 1}` : ''}`);
  await mkdir(runDir, { recursive: true });
  const timelineFile = path.join(runDir, 'timeline.jsonl');
  const s = c.example ? await exampleInstance(c, runDir, timelineFile) : await generatedInstance(c, timelineFile, setup.python);
  const timeoutMs = 120_000 + c.services * 500;
  // Its own cleanup list, so the end of a run does not stop the session's Temporal server.
  const local = new Cleanup();
  cleanup.add(`${c.name} ${runner}`, () => local.runAll());
  let result: RunResult | undefined;
  const load1Before = os.loadavg()[0]!;
  const ticks = cpuTicks();
  try {
    switch (runner) {
      case 'prime':
      case 'ours-warm':
        result = await runOurs('warm', `bench-${c.name}-${runner}-${round + 1}`, s, runDir, setup.temporal, local, timeoutMs, runner === 'ours-warm');
        break;
      case 'ours-cold':
        result = await runOurs('cold', `bench-${c.name}-${runner}-${round + 1}`, s, runDir, setup.temporal, local, timeoutMs, false);
        break;
      case 'process-compose':
        result = await runProcessCompose(setup.processCompose!, s, runDir, local, timeoutMs);
        break;
      default:
        result = await runBaseline(runner, s, timeoutMs);
    }
    return result;
  } finally {
    await local.runAll();
    const left = await killSurvivors(timelineFile);
    if (result) {
      const now = cpuTicks();
      result.leftovers = left;
      result.machine = { load1Before, busyPercent: (100 * (now.busy - ticks.busy)) / (now.total - ticks.total) };
    }
  }
}

async function main(): Promise<number> {
  const { cases, probes } = selectedCases();
  const notes: string[] = [];
  const processCompose = args.smoke ? null : await findProcessCompose();
  if (!args.smoke && !processCompose) notes.push('process-compose not found (PROCESS_COMPOSE_PATH, PATH, user cache): no peer columns');
  const runners = selectedRunners(
    args.smoke ? ['ours-cold', 'ours-warm'] : ['ours-cold', 'ours-warm', ...(processCompose ? (['process-compose'] as const) : []), 'tight', 'sequential'],
  );

  const work = await mkdtemp(path.join(os.tmpdir(), 'stackflow-bench-'));
  const results: BenchResults = {
    date: new Date().toISOString(),
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memoryBytes: os.totalmem(),
    node: process.version,
    processCompose: processCompose ? { path: processCompose, version: await processComposeVersion(processCompose) } : null,
    notes,
    cases: [],
  };
  let broken = false;
  try {
    const setup: Setup = { work, python: await realPython(), temporal: await startTemporal(work), processCompose };
    // One unrecorded up/down first, so no measured run pays the server's and the disk cache's first touch.
    await runOne('prime', CASES[0]!, setup);
    for (const c of cases) {
      const caseResult: CaseResult = { case: c, runs: [], errors: [] };
      // Repeated runs alternate cold and warm, so a burst of load from elsewhere hits both alike.
      const samples = new Map<Runner, RunResult[]>();
      for (let round = 0; round < repeat; round++) {
        for (const runner of runners) {
          if (round > 0 && !runner.startsWith('ours-')) continue;
          console.error(`case ${c.name}: ${runner}${repeat > 1 ? ` (round ${round + 1})` : ''}...`);
          try {
            samples.set(runner, [...(samples.get(runner) ?? []), await runOne(runner, c, setup, round)]);
          } catch (err) {
            broken = true;
            caseResult.errors.push({ runner, message: (err as Error).message });
            console.error(`case ${c.name}: ${runner} failed: ${(err as Error).message}`);
          }
        }
      }
      for (const runner of runners) if (samples.has(runner)) caseResult.runs.push(medianRun(samples.get(runner)!));
      results.cases.push(caseResult);
      console.log(`\n${caseTable(caseResult)}`);
    }
    for (const probe of probes) {
      console.error(`${probe}...`);
      const runDir = path.join(work, probe);
      await mkdir(runDir, { recursive: true });
      const local = new Cleanup();
      cleanup.add(probe, () => local.runAll());
      try {
        if (probe === 'cli') results.cli = await runCliLatency(setup.temporal, runDir, setup.python, args.smoke ? 2 : 5, local);
        else results.restart = await runRestartLatency(setup.temporal, runDir, setup.python, local);
      } catch (err) {
        broken = true;
        notes.push(`${probe} failed: ${(err as Error).message.split('\n')[0]}`);
        console.error(`${probe} failed: ${(err as Error).message}`);
      } finally {
        await local.runAll();
      }
    }
    const probeText = probesText(results);
    if (probeText) console.log(`\n${probeText}`);
  } finally {
    await cleanup.runAll();
    if (!broken && !args.keep) await rm(work, { recursive: true, force: true });
    else console.error(`work files kept in ${work}`);
  }

  console.log(`\n${results.cores} cores (${results.cpuModel}), node ${results.node}; process-compose: ${results.processCompose?.version ?? 'not run'}`);
  for (const note of notes) console.log(`note: ${note}`);
  const focus = results.cases.find((c) => c.case.name === 'b') ?? results.cases[0];
  const traces = focus?.runs.find((r) => r.runner === 'ours-warm')?.traces;
  if (traces) {
    console.log(`\nTemporal event timeline of two hand-offs, case ${focus!.case.name} warm:`);
    console.log(traceText(traces.median, 'median'));
    console.log(traceText(traces.max, 'max'));
  }
  console.log(`\n${targetsText(targets(results))}`);
  console.log(`\nresults: ${await writeResults(path.join(PACKAGE_ROOT, 'bench/results'), results)}`);
  return broken ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: Error) => {
    console.error(`bench failed: ${err.stack ?? err.message}`);
    await cleanup.runAll();
    process.exit(1);
  },
);
