// `stackflow logs [service...] [-f] [-n N]`: the service log files with `name |` prefixes.
import { EXIT } from '../errors.js';
import { printLogs } from '../log-tail.js';
import { loadStackOrExit, requireKnownServices, stackDir } from '../stack-file.js';
import { CliError } from '../errors.js';

export interface LogsOptions {
  config: string;
  follow?: boolean;
  lines?: string;
}

export async function logs(services: string[], options: LogsOptions): Promise<number> {
  const loaded = await loadStackOrExit(options.config);
  requireKnownServices(loaded, services);
  const lines = options.lines === undefined ? null : Number(options.lines);
  if (lines !== null && (!Number.isInteger(lines) || lines < 0)) {
    throw new CliError(`-n: expected a whole number of lines, got "${options.lines}"`, EXIT.usage);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const names = services.length ? services : Object.keys(loaded.spec.services);
  await printLogs(stackDir(loaded), names, { lines, follow: Boolean(options.follow), signal: controller.signal });
  return EXIT.ok;
}
