// The resolved stack: what the config loader produces and the workflows, activities and CLI consume.
// Plain data only (it travels through Temporal payloads), so no classes, no functions, no Node types.

/** The host id of a service whose stack file names none (SPEC §7): `stackflow worker` serves it by default. */
export const DEFAULT_HOST = 'local';

export type DependencyCondition = 'started' | 'healthy' | 'completed_successfully';

export type RestartPolicyName = 'always' | 'on-failure' | 'never';

export type Probe =
  | { kind: 'http'; url: string; status: number }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'exec'; command: string[] }
  | { kind: 'log'; pattern: string }
  /** "the process is running": the default for a service without a port. */
  | { kind: 'process' };

export interface ProbeSettings {
  probe: Probe;
  /** Ceiling of the poll period; polling starts faster and backs off to this. */
  intervalMs: number;
  /** One probe attempt. */
  timeoutMs: number;
  startPeriodMs: number;
}

export interface ReadinessSettings extends ProbeSettings {
  /** Give up on this start attempt after this long. */
  readyTimeoutMs: number;
}

export interface LivenessSettings extends ProbeSettings {
  failureThreshold: number;
}

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export interface RestartSettings {
  policy: RestartPolicyName;
  maxRestarts: number;
  backoff: BackoffSettings;
}

export interface ShutdownSettings {
  signal: string;
  timeoutMs: number;
}

export interface DependencySpec {
  condition: DependencyCondition;
  /** How long a dependent waits for the condition before it is `blocked`; default: see dependencyWaitBudgetMs. */
  timeoutMs?: number;
}

/** Restart the service when files change (the stack file's `watch:`; see src/watch/). */
export interface WatchSettings {
  /** Absolute paths, directories or single files, resolved against the stack file's folder. */
  paths: string[];
  /** Globs of changes to ignore, relative to each watched path; one without a `/` matches a name at any depth. */
  ignore: string[];
  /** A burst of changes restarts once, this long (ms) after its last change. */
  debounceMs: number;
}

export interface ServiceSpec {
  /** Unique within the stack; replicas are expanded to `name#i`. */
  name: string;
  /** argv; with `shell: true` a single element run through /bin/sh -c. */
  command: string[];
  shell: boolean;
  /** Absolute working directory. */
  cwd: string;
  /** Fully resolved environment for the process (stack env, env files, service env, injected vars). */
  env: Record<string, string>;
  /**
   * The names in `env` whose values may be shown to a person (status, logs, the Web UI): values written
   * literally in the stack file's `env:` (stack-wide, `defaults:` or the service's) where no `${...}`
   * took anything from a variable that is set in the caller's environment or a stack-wide env_file
   * (`${X:-literal}` with X unset is public), plus the injected STACKFLOW_STACK, STACKFLOW_SERVICE,
   * STACKFLOW_REPLICA, PORT and <DEP>_URL / <DEP>_HOST / <DEP>_PORT. Every other name (env_file values, values
   * interpolated from the caller's environment) is secret. Sorted.
   */
  publicEnv: string[];
  port?: number;
  dependsOn: Record<string, DependencySpec>;
  health: ReadinessSettings;
  liveness?: LivenessSettings;
  restart: RestartSettings;
  shutdown: ShutdownSettings;
  watch?: WatchSettings;
  host: string;
}

export interface StackSpec {
  name: string;
  /** Absolute path of the stack file. */
  file: string;
  /** Absolute STACKFLOW_HOME; per-stack state lives in `<home>/<name>/`. */
  home: string;
  /**
   * Enabled services only, keyed by ServiceSpec.name. Built as a null-prototype object; after a trip
   * through a Temporal payload it is a plain object again, so look names up with Object.hasOwn.
   */
  services: Record<string, ServiceSpec>;
  /**
   * The stack file's top-level `hosts:` map (a null-prototype map keyed by host id): addresses that
   * override what each host's worker advertises. Absent or empty: every host's own `--advertise`.
   */
  hosts?: Record<string, HostSpec>;
}

/** One entry of the stack file's `hosts:` map. */
export interface HostSpec {
  /** The address (IP or DNS name) other hosts reach this host's services at; absent: what its worker advertises. */
  address?: string;
}

// --- status (SPEC §6) ---

export type ServiceState =
  | 'pending'
  | 'starting'
  | 'healthy'
  | 'unhealthy'
  | 'restarting'
  | 'stopping'
  | 'stopped'
  | 'failed'
  | 'blocked'
  | 'completed'
  /**
   * Only in an observed status (`stackflow status`), never in the workflow's: the service's host
   * worker stopped reporting, so what its process does is not known (see ServiceStatus.unreachableSince).
   */
  | 'unknown';

export type StackState = 'starting' | 'running' | 'degraded' | 'stopping' | 'stopped' | 'failed';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  at: string;
}

/**
 * The back-off a service is in (or was last in) after a crash, as the service workflow decided it:
 * what `up`/`reload` print as `viz exited 1 during start; retry 2/5 in 4s`.
 */
export interface BackoffInfo {
  /** This restart's number within max_restarts' 10-minute window (1-based). */
  attempt: number;
  /** max_restarts. */
  maxAttempts: number;
  /** The back-off delay before the next spawn, in ms. */
  delayMs: number;
  /** True when the process ended before it was ever healthy in that run (a failed start). */
  duringStart: boolean;
  /**
   * Why that start failed when no exit tells it (`not started: port 8001 is held by pid 12233 (…)`,
   * `not ready in time: …`); absent when the process's exit is the cause.
   */
  cause?: string;
  /** ISO time at which the back-off began. */
  at: string;
}

/** A process named in a message: its pid and command line (from /proc). */
export interface ProcessRef {
  pid: number;
  command: string;
}

export interface ServiceStatus {
  state: ServiceState;
  pid: number | null;
  port: number | null;
  host: string;
  /** The address its host's worker advertised (`worker --advertise`) with its last spawn; null before. */
  address?: string | null;
  /** Restarts after a crash (the restart policy's, counted against max_restarts' window or not). */
  restarts: number;
  /** Restarts asked for by hand: `restart`, `restart --with-dependents` of a dependency, `reload`, `watch:`. */
  manualRestarts: number;
  /** The current or last crash back-off; null once the service is healthy again. */
  backoff: BackoffInfo | null;
  startedAt: string | null;
  healthyAt: string | null;
  lastExit: ExitInfo | null;
  /** CPU use of the process group in percent of one core, sampled by the worker of its host; null when not sampled. */
  cpuPercent: number | null;
  /** RSS of the process group in bytes, sampled by the worker of its host. */
  memoryBytes: number | null;
  /** When its host's worker took that sample (ISO 8601). */
  sampledAt?: string | null;
  /** Set (ISO 8601) when the host's worker has not been heard from since then: the state is then `unknown`. */
  unreachableSince?: string | null;
  error: string | null;
  /**
   * Processes of the service still alive after its stop (SPEC §4: none may outlive `down`): `down`
   * names them and exits 1. Absent or empty when the stop left nothing.
   */
  leftRunning?: ProcessRef[];
}

export interface StackStatus {
  stack: string;
  state: StackState;
  services: Record<string, ServiceStatus>;
}

/** Knobs of the workflows themselves; tests turn them down to see their effect quickly. */
export interface Tuning {
  /** Heartbeat timeout of the long activities: bounds how fast a dead worker is noticed. */
  heartbeatTimeoutMs: number;
  /** A service workflow continues as new past this many history events (or when the server suggests it). */
  maxHistoryEvents: number;
}

export const DEFAULT_TUNING: Tuning = { heartbeatTimeoutMs: 10_000, maxHistoryEvents: 2_000 };
