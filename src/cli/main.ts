// The `stackflow` command line (SPEC §1). Each command returns its exit code (SPEC §8).
//
// Start-up is on every command's critical path (`up` to the workflow start, `status`): only
// commander and the small cli modules load here. Each command's module, and with it the Temporal
// SDK, yaml and zod, is imported when that command runs, so `--help` loads none of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { debugRequested, describeError, EXIT } from './errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { red } from './output.js';

/** The stack file a command reads without `-c`, relative to the working directory (compose's `compose.yaml` habit). */
export const DEFAULT_STACK_FILE = 'stack.yaml';

export function buildProgram(run: (action: Promise<number>) => void): Command {
  const program = new Command('stackflow')
    .description('Service lifecycle orchestrator driven by Temporal workflows')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'print stack traces of errors (as STACKFLOW_DEBUG=1)')
    .exitOverride()
    .showHelpAfterError();
  const withConfig = (cmd: Command) => cmd.option('-c, --config <file>', 'the stack file', DEFAULT_STACK_FILE);
  const withProjectName = (cmd: Command) =>
    cmd.option('-p, --project-name <name>', "the stack's name (then the stack file is not read; as compose's -p)");

  withConfig(program.command('up'))
    .description('start the named services and what they depend on (all when none is named)')
    .argument('[service...]')
    .option('-d, --detach', 'return once the services are healthy; the worker keeps running in the background')
    .option('--abort-on-failure', 'drain the stack when a service fails')
    .action((services: string[], opts) => run(import('./commands/up.js').then((m) => m.up(services, opts))));
  withProjectName(withConfig(program.command('down')))
    .description('drain the stack in reverse dependency order')
    .option('--all', 'also stop the embedded Temporal server')
    .option('--timeout <duration>', 'budget for the whole drain; what is still stopping then is SIGKILLed, and what cannot be (its host is gone) is named, exit 1')
    .action((opts) => run(import('./commands/down.js').then((m) => m.down(opts))));
  withProjectName(withConfig(program.command('status')))
    .alias('ps')
    .description('one row per service: state, pid, port, restarts, uptime, cpu, memory; a named service: its whole record and last log lines')
    .argument('[service...]')
    .option('--json', 'print the status object (with --watch: one object per line)')
    .option('-w, --watch', 'refresh until Ctrl-C')
    .option('--interval <duration>', 'refresh period of --watch', '1s')
    .action((services: string[], opts) => run(import('./commands/status.js').then((m) => m.status(opts, services))));
  withProjectName(withConfig(program.command('registry')))
    .description('the running instances across hosts, with the url other hosts reach each at')
    .option('--json', 'print the entries as JSON')
    .action((opts) => run(import('./commands/registry.js').then((m) => m.registry(opts))));
  withConfig(program.command('validate'))
    .description('check the stack file and print the start order')
    .action((opts) => run(import('./commands/validate.js').then((m) => m.validate(opts))));
  withConfig(program.command('graph'))
    .description('print the dependency graph')
    .option('--format <format>', 'mermaid or dot', 'mermaid')
    .action((opts) => run(import('./commands/graph.js').then((m) => m.graph(opts))));
  withConfig(program.command('restart'))
    .description('restart services through the workflow; returns when they are healthy again')
    .argument('<service...>')
    .option('--with-dependents', 'stop the services that depend on it first and bring them back after')
    .action((services: string[], opts) => run(import('./commands/restart.js').then((m) => m.restart(services, opts))));
  withConfig(program.command('start'))
    .description('start services of the running stack (and what they depend on) through the workflow')
    .argument('<service...>')
    .action((services: string[], opts) => run(import('./commands/start-stop.js').then((m) => m.start(services, opts))));
  withConfig(program.command('stop'))
    .description('stop services of the running stack and keep them stopped (`start` brings them back)')
    .argument('<service...>')
    .option('--timeout <duration>', 'budget for the stop; what is still stopping then is SIGKILLed')
    .action((services: string[], opts) => run(import('./commands/start-stop.js').then((m) => m.stop(services, opts))));
  withConfig(program.command('reload'))
    .description('apply the edited stack file: start added, stop removed, restart changed services')
    .action((opts) => run(import('./commands/reload.js').then((m) => m.reload(opts))));
  withConfig(program.command('logs'))
    .description('print (and follow) the service log files')
    .argument('[service...]')
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <n>', 'only the last n lines of each service (rotated files included)')
    .option('--since <time>', 'only lines written since: a duration back (10m, 1h30m) or a date/time (by line, to ~10ms; rotated copies by file)')
    .option('-t, --timestamps', 'prefix each line with its time (when the worker saw it written, to ~10ms)')
    .action((services: string[], opts) => run(import('./commands/logs.js').then((m) => m.logs(services, opts))));
  withConfig(program.command('worker'))
    .description('run a worker for this host in the foreground')
    .option('--host <id>', 'the host id services name in `host:` (default: the host of services that name none)')
    .option('--advertise <address>', "where other hosts reach this host's services (default: the local address toward the Temporal server)")
    .action((opts) => run(import('./commands/worker.js').then((m) => m.worker(opts))));
  return program;
}

/** The version in package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedOutput();
  let pending: Promise<number> | undefined;
  const program = buildProgram((action) => (pending = action));
  let code: number;
  try {
    await program.parseAsync(argv);
    code = pending ? await pending : EXIT.ok;
  } catch (err) {
    code = report(err, debugRequested(argv));
  }
  process.exitCode = code;
  // A forced stop leaves in-flight work (the in-process worker's activities) that must not hold the exit.
  if (code === EXIT.interrupted) process.exit(code);
}

/** Prints what describeError makes of `err` (its stack too with --debug) and returns the exit code. */
function report(err: unknown, debug: boolean): number {
  const { message, exitCode } = describeError(err);
  if (message) console.error(exitCode === EXIT.usage ? message : red(message));
  if (debug && err instanceof Error && err.stack) console.error(err.stack);
  return exitCode;
}

/**
 * `stackflow logs | head -1`: once the reader has gone, writing fails with EPIPE; that ends the
 * command quietly with exit 0, as for `cat` (SIGPIPE), instead of an unhandled 'error' event.
 */
function endQuietlyOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(EXIT.ok);
      throw err;
    });
  }
}
