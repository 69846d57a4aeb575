// One service as written (with `defaults:` merged in) -> its resolved spec, before replicas and injected env.
import { DEFAULT_HOST } from '../model.js';
import { resolve } from 'node:path';
import type { LivenessSettings, Probe, ReadinessSettings, RestartSettings, ServiceSpec, WatchSettings } from '../model.js';
import { MISSING_COMMAND, toArgv } from './command-line.js';
import { readEnvFiles } from './env-file.js';
import type { Lookup } from './interpolate.js';
import type { NameMap } from '../name-map.js';
import { hasName, mergeNameMaps, nameMap } from '../name-map.js';
import type { ProbeInput, ServiceInput } from './schema.js';

/** Reports a problem at a path inside the service (`health.tcp.port`). */
export type ReportProblem = (field: string, message: string) => void;

export interface BaseService {
  /** One instance named after the service, with the stack file's env only and dependencies by service name. */
  spec: ServiceSpec;
  replicas: number;
  disabled: boolean;
}

export interface ServiceContext {
  /** The stack file's directory: `cwd` and `env_file` are relative to it. */
  dir: string;
  /** Stack-wide `env_file` values with the stack `env` over them. */
  stackEnv: NameMap<string>;
  /** The names in `stackEnv` whose value was written literally in the stack's `env:` (see ServiceSpec.publicEnv). */
  publicStackEnv: ReadonlySet<string>;
  /** The caller's environment over the stack-wide env files: for interpolation inside the service's env files. */
  variables: Lookup;
  /** Whether the service's `env:` value for this name (its own, or from `defaults:`) was written without a set variable. */
  isLiteralEnv: (name: string) => boolean;
}

/**
 * The service's environment before the injected variables, and the names whose value may be shown:
 * the service's env_file values are secret; its `env:` values are public when written literally;
 * stack-wide names keep their verdict unless the service overrides them.
 */
function resolveEnv(input: ServiceInput, context: ServiceContext, report: ReportProblem) {
  const envFiles = readEnvFiles(input.env_file ?? [], context.dir, 'env_file', context.variables);
  for (const problem of envFiles.problems) report(problem.path, problem.message);
  const own = input.env ?? nameMap<string>();
  const env = mergeNameMaps(context.stackEnv, envFiles.values, own);
  const isPublic = (name: string) =>
    hasName(own, name) ? context.isLiteralEnv(name) : !hasName(envFiles.values, name) && context.publicStackEnv.has(name);
  return { env, publicEnv: Object.keys(env).filter(isPublic) };
}

function resolveCommand(input: ServiceInput, report: ReportProblem): string[] {
  const { command } = input;
  if (command === undefined) {
    report('command', MISSING_COMMAND);
    return [];
  }
  if (input.shell) {
    if (typeof command !== 'string') {
      report('command', 'with shell: true, command must be a string (e.g. command: "node server.js | tee out.log")');
      return [];
    }
    if (command.trim() === '') report('command', MISSING_COMMAND);
    return ['/bin/sh', '-c', command];
  }
  const result = toArgv(command);
  if ('argv' in result) return result.argv;
  report('command', result.problem);
  return [];
}

/** The readiness default: TCP connect to the service's port, else "the process is running". */
function resolveProbe(probe: ProbeInput | undefined, port: number | undefined, field: string, report: ReportProblem): Probe {
  if (probe === undefined) return port === undefined ? { kind: 'process' } : { kind: 'tcp', host: '127.0.0.1', port };
  if (probe.kind !== 'tcp') return probe;
  if (probe.port !== undefined) return { ...probe, port: probe.port };
  if (port === undefined) {
    report(`${field}.tcp.port`, 'missing (give the port to probe, or declare the service\'s port)');
    return { kind: 'process' };
  }
  return { ...probe, port };
}

function resolveReadiness(input: ServiceInput, report: ReportProblem): ReadinessSettings {
  const health = input.health;
  return {
    probe: resolveProbe(health?.probe, input.port, 'health', report),
    intervalMs: health?.interval ?? 1000,
    timeoutMs: health?.timeout ?? 2000,
    startPeriodMs: health?.start_period ?? 0,
    readyTimeoutMs: health?.ready_timeout ?? 60_000,
  };
}

function resolveLiveness(input: ServiceInput, report: ReportProblem): LivenessSettings | undefined {
  const liveness = input.liveness;
  if (liveness === undefined) return undefined;
  return {
    probe: resolveProbe(liveness.probe, input.port, 'liveness', report),
    intervalMs: liveness.interval ?? 5000,
    timeoutMs: liveness.timeout ?? 2000,
    startPeriodMs: liveness.start_period ?? 0,
    failureThreshold: liveness.failure_threshold ?? 3,
  };
}

function resolveRestart(input: ServiceInput): RestartSettings {
  const restart = input.restart;
  return {
    policy: restart?.policy ?? 'on-failure',
    maxRestarts: restart?.max_restarts ?? 5,
    backoff: {
      initialMs: restart?.backoff?.initial ?? 1000,
      maxMs: restart?.backoff?.max ?? 30_000,
      factor: restart?.backoff?.factor ?? 2,
    },
  };
}

/** Default `watch.debounce`: process-compose's, and about one editor save's burst of events. */
const WATCH_DEBOUNCE_MS = 300;

function resolveWatch(input: ServiceInput, dir: string, report: ReportProblem): WatchSettings | undefined {
  const watch = input.watch;
  if (watch === undefined) return undefined;
  const paths = (watch.paths ?? []).filter((path) => path.trim() !== '');
  if (paths.length === 0) {
    report('watch.paths', 'missing (list the files or folders to watch, e.g. paths: [apps/data])');
    return undefined;
  }
  return { paths: paths.map((path) => resolve(dir, path)), ignore: watch.ignore ?? [], debounceMs: watch.debounce ?? WATCH_DEBOUNCE_MS };
}

export function resolveService(name: string, input: ServiceInput, context: ServiceContext, report: ReportProblem): BaseService {
  const { env, publicEnv } = resolveEnv(input, context, report);
  const liveness = resolveLiveness(input, report);
  const watch = resolveWatch(input, context.dir, report);
  return {
    spec: {
      name,
      command: resolveCommand(input, report),
      shell: input.shell ?? false,
      cwd: resolve(context.dir, input.cwd ?? '.'),
      env,
      publicEnv,
      ...(input.port === undefined ? {} : { port: input.port }),
      dependsOn: nameMap(
        Object.entries(input.depends_on ?? {}).map(([dep, d]) => [
          dep,
          'timeout' in d && d.timeout !== undefined ? { condition: d.condition, timeoutMs: d.timeout } : { condition: d.condition },
        ]),
      ),
      health: resolveReadiness(input, report),
      ...(liveness === undefined ? {} : { liveness }),
      restart: resolveRestart(input),
      shutdown: { signal: input.shutdown?.signal ?? 'SIGTERM', timeoutMs: input.shutdown?.timeout ?? 10_000 },
      ...(watch === undefined ? {} : { watch }),
      host: input.host ?? DEFAULT_HOST,
    },
    replicas: input.replicas ?? 1,
    disabled: input.disabled ?? false,
  };
}
