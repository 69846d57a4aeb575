// The worker's log: one pino logger for stackflow's own lines and for the Temporal SDK's runtime
// logger (worker lifecycle, activity and workflow logs, the native core's forwarded lines). JSON
// lines when the output is a file or a pipe (`<STACKFLOW_HOME>/worker.log`), readable lines
// (pino-pretty) in a terminal. The SDK's lines meant for SDK developers go to debug.
import { pino, stdSerializers, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { Runtime, type Logger as SdkLogger, type LogLevel as SdkLevel, type LogMetadata } from '@temporalio/worker';
import { LOG_LEVELS, type LogLevel } from './log-level.js';

/**
 * The worker's pino logger at `level`, writing to `destination` (see logDestination). Errors in a
 * line's `err` or `error` field (the SDK's key) are written with their type, message and stack.
 */
export function createWorkerLogger(level: LogLevel, destination: DestinationStream): Logger<never, boolean> {
  return pino({ level, serializers: { err: stdSerializers.err, error: stdSerializers.err } }, destination);
}

/**
 * Where the worker logs: `file` when given (JSON lines, appended; the file and its folder created),
 * else stdout — readable lines through pino-pretty when `terminal` (default: stdout is a TTY;
 * colours as the terminal supports, `NO_COLOR` honoured), JSON lines when stdout is a file or a
 * pipe (the background worker's stdout is worker.log). Every write is synchronous, so a line
 * logged before SIGINT/SIGTERM, a crash or `process.exit` is in the file.
 */
export function logDestination({ file, terminal = process.stdout.isTTY === true }: { file?: string; terminal?: boolean } = {}): DestinationStream {
  if (file !== undefined) return pino.destination({ dest: file, append: true, mkdir: true, sync: true });
  if (terminal) return pretty({ sync: true, destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true });
  return pino.destination({ dest: 1, sync: true });
}

/**
 * The SDK's warnings for SDK developers: what a stackflow worker does on purpose (its workflow
 * worker has no activities, its activity worker runs the host's service workflows too), not news
 * to an operator. Messages of @temporalio/worker 1.24 (lib/worker.js), matched exactly.
 */
const SDK_DEVELOPER_NOTES = new Set(['No activities registered, not polling for activity tasks', 'No workflows registered, not polling for workflow tasks']);

/**
 * Activity failures that are a routine outcome, not news: a gated spawn superseded because the stack
 * workflow released the gate another way (src/host/readiness-bus.ts, GateSuperseded). The SDK logs
 * every activity failure as WARN "Activity failed" with the error in `meta.error`.
 */
const ROUTINE_ACTIVITY_FAILURES = new Set(['GateSuperseded']);

const PINO_LEVEL: Record<SdkLevel, LogLevel> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * The pino level of one SDK log entry. `meta.sdkComponent` (the SDK's SdkComponent: worker, core,
 * activity, workflow, nexus) tells who logged it:
 * - `worker` (the SDK's own worker lifecycle: "Worker state changed", "No Nexus services
 *   registered…") at INFO goes to debug, and so do the SDK_DEVELOPER_NOTES warnings and the
 *   "Activity failed" of a ROUTINE_ACTIVITY_FAILURES error;
 * - `core` (the native core, forwarded): INFO to debug, DEBUG and TRACE to trace;
 * - everything else keeps its level: real warnings and errors (core's poll failures when the
 *   server is lost, "Activity failed", "Workflow failed"), and the lines of stackflow's own
 *   activities and workflows (`log.info` / `log.warn` there).
 */
export function sdkLogLevel(level: SdkLevel, message: string, meta?: LogMetadata): LogLevel {
  const component = meta?.sdkComponent;
  if (component === 'worker' && (level === 'INFO' || (level === 'WARN' && SDK_DEVELOPER_NOTES.has(message)))) return 'debug';
  if (message === 'Activity failed' && ROUTINE_ACTIVITY_FAILURES.has((meta?.error as Error | undefined)?.name ?? '')) return 'debug';
  if (component === 'core' && (level === 'INFO' || level === 'DEBUG')) return level === 'INFO' ? 'debug' : 'trace';
  return PINO_LEVEL[level];
}

/**
 * The most verbose core level whose lines `level` shows after sdkLogLevel's mapping: the filter of
 * core's log forwarding, so core does not even send what the logger would drop.
 */
export function coreLogFilter(level: LogLevel): SdkLevel {
  const shown = LOG_LEVELS.indexOf(level);
  const coreLevels: SdkLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
  return coreLevels.find((l) => LOG_LEVELS.indexOf(sdkLogLevel(l, '', { sdkComponent: 'core' })) >= shown) ?? 'ERROR';
}

/** How long repeats of one core warning or error are counted instead of written (ms). */
export const REPEAT_WINDOW_MS = 30_000;

/**
 * Holds back repeats of one core warning or error for REPEAT_WINDOW_MS after it was written. A
 * lost server makes core fail every poll of every poller (`WARN gRPC call poll_workflow_task_queue
 * retried 7 times`, measured: a line per poller every few seconds, for as long as the server is
 * away), which would drown everything else in the terminal and grow worker.log without telling
 * more. Repeats are the same level and message up to its numbers (`repeatKey`); the next one
 * written after the window carries `repeated`: how many were held back since the last one written
 * (pino has no deduplication of its own). Only core's lines: an activity's or workflow's warning
 * names its service, each one counts.
 */
export class RepeatLimiter {
  private readonly last = new Map<string, { until: number; held: number }>();

  constructor(
    private readonly windowMs = REPEAT_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** null: hold this one back; otherwise write it, with the count of those held back before it. */
  admit(key: string): { repeated: number } | null {
    const time = this.now();
    const seen = this.last.get(key);
    if (seen && time < seen.until) {
      seen.held++;
      return null;
    }
    // Core's messages are constant up to their numbers (details are fields): the map stays small.
    this.last.set(key, { until: time + this.windowMs, held: 0 });
    return { repeated: seen?.held ?? 0 };
  }
}

/** What makes two core lines repeats of each other: their level and message, numbers left out. */
export function repeatKey(level: LogLevel, message: string): string {
  return `${level} ${message.replace(/\d+/g, '#')}`;
}

/**
 * The SDK's Logger interface (@temporalio/common `Logger`) on top of `logger`: levels as
 * sdkLogLevel decides, the entry's metadata as the line's fields (symbol keys such as the SDK's
 * LogTimestamp are not written), core's repeated warnings and errors held back by a RepeatLimiter.
 */
export function sdkLoggerFor(logger: Logger<never, boolean>, limiter = new RepeatLimiter()): SdkLogger {
  const log = (level: SdkLevel, message: string, meta?: LogMetadata) => {
    const to = sdkLogLevel(level, message, meta);
    if (!logger.isLevelEnabled(to)) return;
    if (meta?.sdkComponent === 'core' && (to === 'warn' || to === 'error')) {
      const admitted = limiter.admit(repeatKey(to, message));
      if (admitted === null) return;
      if (admitted.repeated > 0) meta = { ...meta, repeated: admitted.repeated };
    }
    logger[to](meta ?? {}, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

/**
 * Installs the SDK's Runtime (once per process, before the first worker or native connection) with
 * `logger` as its logger, and core's own logs forwarded to it (filtered by coreLogFilter; other
 * native crates: errors only), so nothing of the SDK reaches the console on its own.
 * `shutdownSignals`: what makes the Runtime shut its workers down gracefully (SDK default:
 * SIGINT, SIGTERM, SIGQUIT, SIGUSR2); `[]` for a worker whose command handles the signals. The
 * SDK's buffered lines are flushed at shutdown and at the process's exit.
 */
export function installWorkerRuntime(logger: Logger<never, boolean>, { shutdownSignals }: { shutdownSignals?: NodeJS.Signals[] } = {}): void {
  const runtime = Runtime.install({
    ...(shutdownSignals ? { shutdownSignals } : {}),
    logger: sdkLoggerFor(logger),
    telemetryOptions: { logging: { filter: { core: coreLogFilter(logger.level as LogLevel), other: 'ERROR' }, forward: {} } },
  });
  // The SDK holds its lines ~100 ms to put them in time order; `process.exit` (a forced stop) must
  // not lose them. The destination is synchronous, so writing in an 'exit' listener works.
  process.once('exit', () => runtime.flushLogs());
}
