import type { ExitInfo } from '../model.js';

export type StartFailureReason =
  /** The executable does not exist. */
  | 'ENOENT'
  /** The executable is not executable. */
  | 'EACCES'
  /** The working directory does not exist. */
  | 'cwd'
  /** Any other error from spawn itself. */
  | 'spawn'
  /** The service's port was taken by another process after the preflight (detail names the holder). */
  | 'port'
  | 'exit'
  | 'signal'
  /** Not ready within ready_timeout. */
  | 'timeout';

/** Plain data, so it can travel as Temporal failure details. */
export interface ServiceStartDetails {
  service: string;
  command: string[];
  reason: StartFailureReason;
  exitCode: number | null;
  signal: string | null;
  /** Extra context: the spawn error, the last probe result. */
  detail: string | null;
  logTail: string[];
}

/** A service could not be started; the message names the service, the command, the reason and the last log lines. */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  readonly details: ServiceStartDetails;

  constructor(init: Pick<ServiceStartDetails, 'service' | 'command' | 'reason'> & Partial<ServiceStartDetails>) {
    const details: ServiceStartDetails = { exitCode: null, signal: null, detail: null, logTail: [], ...init };
    super(formatMessage(details));
    this.details = details;
  }

  static fromExit(service: string, command: string[], exit: ExitInfo, logTail: string[]): ServiceStartError {
    return new ServiceStartError({
      service,
      command,
      reason: exit.signal ? 'signal' : 'exit',
      exitCode: exit.code,
      signal: exit.signal,
      logTail,
    });
  }

  get service(): string {
    return this.details.service;
  }

  get reason(): StartFailureReason {
    return this.details.reason;
  }

  toJSON(): ServiceStartDetails & { name: string; message: string } {
    return { name: this.name, message: this.message, ...this.details };
  }
}

/**
 * Why a start failed, in a few words, when no exit of the process tells it (a port held by another
 * process, a missing executable, a readiness timeout): `not started: port 8001 is held by pid 12233
 * (python3 -m http.server)`. Null for a process that exited or was killed during its start (its exit
 * says it). One line: what the retry line and the log marker print.
 */
export function startFailureCause(d: ServiceStartDetails): string | null {
  if (d.reason === 'exit' || d.reason === 'signal') return null;
  return describe(d).split('\n', 1)[0]!;
}

function formatMessage(d: ServiceStartDetails): string {
  const what = describe(d);
  const lines = [`${d.service}: ${what} (command: ${formatCommand(d.command)})`];
  if (d.logTail.length > 0) {
    lines.push('  last log lines:', ...d.logTail.map((line) => `  | ${line}`));
  }
  return lines.join('\n');
}

function describe(d: ServiceStartDetails): string {
  const suffix = d.detail ? `: ${d.detail}` : '';
  switch (d.reason) {
    case 'ENOENT':
      return `executable not found: ${d.command[0] ?? '(empty command)'}`;
    case 'EACCES':
      return `permission denied executing ${d.command[0] ?? '(empty command)'}`;
    case 'cwd':
      return `working directory not usable${suffix}`;
    case 'spawn':
      return `could not be spawned${suffix}`;
    case 'port':
      return `not started${suffix}`;
    case 'exit':
      return d.exitCode === null ? 'exited during start' : `exited with code ${d.exitCode} during start`;
    case 'signal':
      return `killed by ${d.signal ?? 'a signal'} during start`;
    case 'timeout':
      return `not ready in time${suffix}`;
  }
}

/** argv as a shell would need it typed, so the message can be copied and run. */
export function formatCommand(argv: string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}
