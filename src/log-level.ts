// The worker log's level setting, apart from src/log.ts so that commands can check it before they
// start anything without loading pino or the worker SDK.
import type { Level } from 'pino';
import { InvalidSettingError } from './temporal/errors.js';

/** The levels STACKFLOW_LOG_LEVEL accepts, most verbose first (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const satisfies readonly Level[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The worker log's level: STACKFLOW_LOG_LEVEL when set (one of LOG_LEVELS, any case), else `debug`
 * when the user asked for debugging (`--debug` / STACKFLOW_DEBUG=1, see cli/errors.ts
 * `debugRequested`), else `info`. Throws InvalidSettingError (exit 2) for any other value.
 */
export function logLevelFrom(env: NodeJS.ProcessEnv, debug: boolean): LogLevel {
  const value = env.STACKFLOW_LOG_LEVEL?.trim().toLowerCase();
  if (!value) return debug ? 'debug' : 'info';
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new InvalidSettingError(`STACKFLOW_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got "${env.STACKFLOW_LOG_LEVEL}"`);
}
