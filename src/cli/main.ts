// The `stackflow` command line (SPEC §1). Each command returns its exit code (SPEC §8).
//
// Start-up is on every command's critical path (`up` to the workflow start, `status`): only
// commander and the small cli modules load here. Each command's module, and with it the Temporal
// SDK, yaml and zod, is imported when that command runs, so `--help` loads none of them.
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors.js';
import { EncryptionConfigError, EncryptionKeyError } from '../codec/errors.js';
import { red } from './output.js';

/** The stack file a command reads without `-c`, relative to the working directory (compose's `compose.yaml` habit). */
export const DEFAULT_STACK_FILE = 'stack.yaml';

export function buildProgram(run: (action: Promise<number>) => void): Command {
  const program = new Command('stackflow')
    .description('Service lifecycle orchestrator driven by Temporal workflows')
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
    .description('one row per service: state, pid, port, restarts, uptime, cpu, memory')
    .option('--json', 'print the status object (with --watch: one object per line)')
    .option('-w, --watch', 'refresh until Ctrl-C')
    .option('--interval <duration>', 'refresh period of --watch', '1s')
    .action((opts) => run(import('./commands/status.js').then((m) => m.status(opts))));
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
  withConfig(program.command('reload'))
    .description('apply the edited stack file: start added, stop removed, restart changed services')
    .action((opts) => run(import('./commands/reload.js').then((m) => m.reload(opts))));
  withConfig(program.command('logs'))
    .description('print (and follow) the service log files')
    .argument('[service...]')
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <n>', 'only the last n lines of each service (rotated files included)')
    .option('--since <time>', 'only lines written since: a duration back (10m, 1h30m) or a date/time (by line, to ~100ms; rotated copies by file)')
    .option('-t, --timestamps', 'prefix each line with its time (when the worker saw it written, to ~100ms)')
    .action((services: string[], opts) => run(import('./commands/logs.js').then((m) => m.logs(services, opts))));
  withConfig(program.command('worker'))
    .description('run a worker for this host in the foreground')
    .option('--host <id>', 'the host id services name in `host:` (default: the host of services that name none)')
    .option('--advertise <address>', "where other hosts reach this host's services (default: the local address toward the Temporal server)")
    .action((opts) => run(import('./commands/worker.js').then((m) => m.worker(opts))));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  let pending: Promise<number> | undefined;
  const program = buildProgram((action) => (pending = action));
  try {
    await program.parseAsync(argv);
    process.exitCode = pending ? await pending : EXIT.ok;
  } catch (err) {
    process.exitCode = report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof CliError) {
    console.error(err.exitCode === EXIT.usage ? err.message : red(err.message));
    return err.exitCode;
  }
  const keyError = findCause(err, EncryptionKeyError) ?? findCause(err, EncryptionConfigError);
  if (keyError) {
    console.error(red(keyError.message));
    return keyError instanceof EncryptionConfigError ? EXIT.usage : EXIT.failure;
  }
  console.error(red(err instanceof Error ? (err.stack ?? err.message) : String(err)));
  return EXIT.failure;
}

/** `err` or the first error of its `cause` chain that is a `type` (the SDK wraps codec errors). */
function findCause<T extends Error>(err: unknown, type: new (...args: never[]) => T): T | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof type) return e;
  return undefined;
}
