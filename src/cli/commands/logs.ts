// `stackflow logs [service...] [-f] [-n N] [--since T]`: the service log files (rotated ones
// included, oldest first) with `name |` prefixes.
import { EXIT } from '../errors.js';
import { parseSince, printLogs } from '../log-tail.js';
import { loadStackOrExit, requireKnownServices, stackDir } from '../stack-file.js';
import { CliError } from '../errors.js';

export interface LogsOptions {
  config: string;
  follow?: boolean;
  lines?: string;
  since?: string;
  timestamps?: boolean;
}

export async function logs(services: string[], options: LogsOptions): Promise<number> {
  const loaded = await loadStackOrExit(options.config);
  requireKnownServices(loaded, services);
  const lines = options.lines === undefined ? null : Number(options.lines);
  if (lines !== null && (!Number.isInteger(lines) || lines < 0)) {
    throw new CliError(`-n: expected a whole number of lines, got "${options.lines}"`, EXIT.usage);
  }
  const since = options.since === undefined ? undefined : parseSince(options.since, Date.now());
  if (options.since !== undefined && since === undefined) {
    throw new CliError(
      `--since: expected a duration (e.g. 90s, 5m, 1h30m) or a date/time (e.g. 2025-06-01T12:00:00Z), got "${options.since}"`,
      EXIT.usage,
    );
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const names = services.length ? services : Object.keys(loaded.spec.services);
  await printLogs(stackDir(loaded), names, { lines, since, timestamps: options.timestamps, follow: Boolean(options.follow), signal: controller.signal });
  return EXIT.ok;
}
