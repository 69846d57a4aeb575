// The tool's own start-up (issue 8 target 5): `--help`, `validate` and `status` timed by repetition,
// and `up -d` from invocation to the stack workflow's start with a worker already polling.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stackWorkflowId } from '../src/workflows/definitions.js';
import { allocatePorts, stackflowStackFile, type StackInstance } from './generate.js';
import { distribution, type Distribution } from './metrics.js';
import { assertOk, killSurvivors, terminate, type Cleanup } from './processes.js';
import { cliEnv, runStackflow, startWarmWorker, terminateStack, workerPid, type TemporalTarget } from './run-ours.js';

export interface CliFigures {
  rounds: number;
  /** Wall time of each command, launch to exit, in ms. */
  helpMs: Distribution;
  validateMs: Distribution;
  statusMs: Distribution;
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

  const timed = async (args: string[], file: string | null): Promise<number> => {
    const r = await runStackflow(args, file, env, TIMEOUT_MS);
    assertOk(`stackflow ${args.join(' ')}`, r);
    return r.endedAt - r.startedAt;
  };
  const repeat = async (args: string[], file: string | null) => {
    const samples: number[] = [];
    for (let i = 0; i < rounds; i++) samples.push(await timed(args, file));
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
  return {
    rounds,
    helpMs: await repeat(['--help'], null),
    validateMs: await repeat(['validate'], stacks[0]!.file),
    statusMs: await repeat(['status'], stacks[0]!.file),
    upToWorkflowStartMs: distribution(toStart),
    upMs: distribution(up),
  };
}
