// The tool's own start-up (issue 8 target 5, issue 11 item 12): `--help`, `validate` and `status`
// timed by repetition, and `up -d` from invocation to the stack workflow's start with a worker already
// polling. `status` is timed against a running six-service stack three ways: over the HTTP API with the
// stack file, over it with `-p` (no file read), and through the SDK; and the server's share of the
// HTTP one is the same reads made from this warm process, so "our own time" is wall minus that.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stackWorkflowId } from '../src/workflows/definitions.js';
import { loadKeyring } from '../src/codec/keys.js';
import { StackReads } from '../src/stack-reads.js';
import { HttpReads } from '../src/temporal/http-reads.js';
import { DEFAULT_TASK_QUEUE } from '../src/workflows/ids.js';
import { allocatePorts, stackflowStackFile, type StackInstance } from './generate.js';
import { distribution, type Distribution } from './metrics.js';
import { assertOk, killSurvivors, terminate, type Cleanup } from './processes.js';
import { cliEnv, runStackflow, startWarmWorker, terminateStack, workerPid, type TemporalTarget } from './run-ours.js';

export interface CliFigures {
  rounds: number;
  /** Wall time of each command, launch to exit, in ms. */
  /** Rounds of `--help` and of each `status` variant (3 × rounds). */
  startupRounds: number;
  helpMs: Distribution;
  validateMs: Distribution;
  /** `status -c <file>` of the six-service stack over the HTTP API (TEMPORAL_HTTP_ADDRESS), as the embedded server's users have it. */
  statusMs: Distribution;
  /** `status -p <name>`: the same without reading the stack file (no yaml, no zod). */
  statusByNameMs: Distribution;
  /** `status -c <file>` through the Temporal SDK (no HTTP address known). */
  statusSdkMs: Distribution;
  /** The reads `status` makes (running?, worker?, status query, one describe per service) from this warm process: the server's share. */
  statusServerMs: Distribution;
  /** `up -d` launched -> the stack workflow's WorkflowExecutionStarted, in ms (a new one-service stack each round). */
  upToWorkflowStartMs: Distribution;
  /** The whole `up -d` of that one-service stack (ready delay 0), in ms. */
  upMs: Distribution;
}

const TIMEOUT_MS = 60_000;

/**
 * Runs `rounds` one-service stacks side by side in one STACKFLOW_HOME served by one warm worker,
 * timing each command `rounds` times; everything it started is stopped through `cleanup`.
 */
export async function runCliLatency(temporal: TemporalTarget, runDir: string, python: string, rounds: number, cleanup: Cleanup): Promise<CliFigures> {
  const home = path.join(runDir, 'home');
  const env = cliEnv(temporal, home);
  const timelineFile = path.join(runDir, 'timeline.jsonl');
  const stacks: { name: string; file: string }[] = [];
  for (let i = 0; i < rounds; i++) {
    const s: StackInstance = {
      dag: { names: ['s0'], deps: { s0: [] } },
      ports: await allocatePorts(['s0']),
      env: { READY_DELAY_MS: '0', TIMELINE_FILE: timelineFile, BENCH_PYTHON: python },
      timelineFile,
    };
    const name = `bench-cli-${i + 1}`;
    const file = path.join(runDir, `${name}.yaml`);
    await writeFile(file, stackflowStackFile(name, s));
    stacks.push({ name, file });
  }
  cleanup.add('cli latency: service processes', () => killSurvivors(timelineFile));
  cleanup.add('cli latency: background worker', async () => {
    const pid = await workerPid(home).catch(() => null);
    if (pid !== null) await terminate(pid, 'stackflow', 15_000);
  });
  cleanup.add('cli latency: workflows', () => Promise.all(stacks.map((s) => terminateStack(temporal.client, s.name))));

  const repeat = async (args: string[], file: string | null, times = rounds, withEnv = env) => {
    const samples: number[] = [];
    for (let i = 0; i < times; i++) {
      const r = await runStackflow(args, file, withEnv, TIMEOUT_MS);
      assertOk(`stackflow ${args.join(' ')}`, r);
      samples.push(r.endedAt - r.startedAt);
    }
    return distribution(samples);
  };

  await startWarmWorker(home, env, temporal);
  const toStart: number[] = [];
  const up: number[] = [];
  for (const s of stacks) {
    const r = await runStackflow(['up', '-d'], s.file, env, TIMEOUT_MS);
    assertOk(`stackflow up -d (${s.name})`, r);
    const { startTime } = await temporal.client.workflow.getHandle(stackWorkflowId(s.name)).describe();
    toStart.push(startTime.getTime() - r.startedAt);
    up.push(r.endedAt - r.startedAt);
  }

  // `status` of a six-service stack, warm: one run of each first, untimed.
  const six: StackInstance = {
    dag: { names: ['s0', 's1', 's2', 's3', 's4', 's5'], deps: { s0: [], s1: ['s0'], s2: ['s0'], s3: ['s0'], s4: ['s0'], s5: ['s1', 's2', 's3', 's4'] } },
    ports: await allocatePorts(['s0', 's1', 's2', 's3', 's4', 's5']),
    env: { READY_DELAY_MS: '0', TIMELINE_FILE: timelineFile, BENCH_PYTHON: python },
    timelineFile,
  };
  const sixName = 'bench-cli-six';
  const sixFile = path.join(runDir, `${sixName}.yaml`);
  await writeFile(sixFile, stackflowStackFile(sixName, six));
  cleanup.add('cli latency: the six-service stack', () => terminateStack(temporal.client, sixName));
  assertOk(`stackflow up -d (${sixName})`, await runStackflow(['up', '-d'], sixFile, env, TIMEOUT_MS));
  const sdkEnv = { ...env };
  delete sdkEnv.TEMPORAL_HTTP_ADDRESS;
  const times = 3 * rounds;
  for (const e of [env, sdkEnv]) assertOk('stackflow status (warm-up)', await runStackflow(['status'], sixFile, e, TIMEOUT_MS));
  return {
    rounds,
    startupRounds: times,
    helpMs: await repeat(['--help'], null, times),
    validateMs: await repeat(['validate'], stacks[0]!.file),
    statusMs: await repeat(['status'], sixFile, times),
    statusByNameMs: await repeat(['status', '-p', sixName], null, times),
    statusSdkMs: await repeat(['status'], sixFile, times, sdkEnv),
    statusServerMs: await serverShare(temporal.httpAddress, sixName, times),
    upToWorkflowStartMs: distribution(toStart),
    upMs: distribution(up),
  };
}

/** The reads of `status` (as cli/commands/status.ts makes them) over the HTTP API from this process, `times` times, in ms. */
async function serverShare(httpAddress: string | null, stack: string, times: number): Promise<Distribution> {
  if (httpAddress === null) return distribution([]);
  const reads = new HttpReads({ address: httpAddress, namespace: 'default', keyring: await loadKeyring({ create: false }) });
  const stacks = new StackReads(reads, DEFAULT_TASK_QUEUE); // cliEnv leaves the default task queue
  const samples: number[] = [];
  try {
    for (let i = 0; i < times; i++) {
      const began = performance.now();
      // A fresh connection each round, as each CLI run opens its own.
      reads.close();
      if (await stacks.isRunning(stack)) await stacks.hasWorker();
      if (!(await stacks.observedStatus(stack))) throw new Error(`stack ${stack} is not running`);
      samples.push(performance.now() - began);
    }
  } finally {
    reads.close();
  }
  return distribution(samples);
}
