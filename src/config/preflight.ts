// Run-time checks at `up`, before anything spawns: things that were fine when the file was written may not be now.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { LOOPBACK_ADDRESSES, portHeldMessage } from '../health/listeners.js';
import type { ServiceSpec, StackSpec } from '../model.js';
import type { Problem } from './problems.js';
import { formatProblem } from './problems.js';
import { serviceNameOf } from './replicas.js';

export interface PreflightOptions {
  /** Services (or instances) already running in this stack: their ports are theirs, not a clash. */
  ignorePortsOf?: string[];
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function isExecutableFile(path: string): Promise<boolean> {
  const found = await stat(path).catch(() => undefined);
  return found?.isFile() === true && (await access(path, constants.X_OK).then(() => true, () => false));
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** As a shell finds a program: a path (relative to the service's cwd) when it has a `/`, else via PATH. */
async function executableProblem(program: string, service: ServiceSpec): Promise<string | undefined> {
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : resolve(service.cwd, program);
    if (await isExecutableFile(path)) return undefined;
    if (await exists(path)) return `"${path}" is not an executable file (chmod +x it, or run it with its interpreter, e.g. [node, ${program}])`;
    return `executable "${program}" not found at ${path} (fix the path or the service's cwd)`;
  }
  const searchPath = service.env.PATH ?? process.env.PATH ?? '';
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    if (await isExecutableFile(join(dir, program))) return undefined;
  }
  const hint = INSTALL_HINTS[program];
  return `executable "${program}" not found on PATH (install it or fix the command${hint ? `; ${hint}` : ''})`;
}

/** How to install a program that stack files commonly run, added to its "not found" problem. */
const INSTALL_HINTS: Record<string, string> = {
  uv: 'for uv: `python3 -m pip install uv` or the installer at https://docs.astral.sh/uv/getting-started/installation/',
};

/**
 * Why the service could not listen on the port now, if it could not: a listener on it at any
 * address (127.0.0.1, ::1, a wildcard: the loopback rule of src/health/listeners.ts), named from
 * /proc, else a trial bind on each loopback address (a port below 1024, another network namespace).
 */
async function portProblem(port: number): Promise<string | undefined> {
  const held = portHeldMessage(port);
  if (held) return `${held} (stop it or pick another port)`;
  for (const host of LOOPBACK_ADDRESSES) {
    const problem = await bindProblem(port, host);
    if (problem) return problem;
  }
  return undefined;
}

function bindProblem(port: number, host: string): Promise<string | undefined> {
  return new Promise((settle) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') settle(`port ${port} is already in use by another process (stop it or pick another port)`);
      else if (error.code === 'EACCES') settle(`port ${port} needs privileges to listen on (pick a port above 1023)`);
      // No IPv6 loopback on this machine: nothing can listen there, so nothing clashes there.
      else if (error.code === 'EADDRNOTAVAIL') settle(undefined);
      else settle(`port ${port} cannot be listened on (${error.code ?? error.message}; pick another port)`);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => settle(undefined)));
  });
}

async function serviceProblems(service: ServiceSpec, checkPort: boolean): Promise<Problem[]> {
  const path = `services.${serviceNameOf(service.name)}`;
  const problems: Problem[] = [];
  const cwdExists = await isDirectory(service.cwd);
  if (!cwdExists) problems.push({ path: `${path}.cwd`, message: `directory "${service.cwd}" does not exist (create it or fix cwd)` });
  // with shell: true, a missing program is the shell's to report, at run time
  if (!service.shell && cwdExists) {
    const problem = await executableProblem(service.command[0]!, service);
    if (problem) problems.push({ path: `${path}.command`, message: problem });
  }
  for (const [index, watched] of (service.watch?.paths ?? []).entries()) {
    if (!(await exists(watched))) {
      problems.push({ path: `${path}.watch.paths[${index}]`, message: `"${watched}" does not exist (create it or fix the path)` });
    }
  }
  if (checkPort && service.port !== undefined) {
    const problem = await portProblem(service.port);
    if (problem) problems.push({ path: `${path}.port`, message: problem });
  }
  return problems;
}

/** What would stop the stack's services from starting; replicas sharing a problem report it once. */
export async function preflight(spec: StackSpec, options: PreflightOptions = {}): Promise<Problem[]> {
  const ignored = new Set(options.ignorePortsOf ?? []);
  const perService = await Promise.all(
    Object.values(spec.services).map((service) =>
      serviceProblems(service, !ignored.has(service.name) && !ignored.has(serviceNameOf(service.name))),
    ),
  );
  const unique = new Map(perService.flat().map((problem) => [formatProblem(problem), problem]));
  return [...unique.values()];
}
