// Stack file text -> LoadedStack: YAML, interpolation, validation, defaults, resolution.
import { basename, dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { readEnvFiles } from './env-file.js';
import type { Variables } from './interpolate.js';
import { interpolate } from './interpolate.js';
import { applyDefaults } from './merge.js';
import { isPlainMap } from './plain-map.js';
import { issuesToProblems } from './messages.js';
import type { Problem } from './problems.js';
import { StackFileError } from './problems.js';
import type { LoadedStack } from './resolve.js';
import { resolveStack } from './resolve.js';
import type { ServiceInput } from './schema.js';
import { serviceSchema, stackSchema } from './schema.js';
import type { BaseService, ServiceContext } from './service.js';
import { resolveService } from './service.js';

export interface ParseOptions {
  /** The stack file's path as the user gave it: problems name it, `spec.file` is its absolute form. */
  file: string;
  /** Variables for `${VAR}` interpolation; default process.env. */
  env?: Variables;
  /** STACKFLOW_HOME; default `env.STACKFLOW_HOME`, else `.stackflow` beside the stack file. */
  home?: string;
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function parseYaml(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const [error] = document.errors;
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new StackFileError([{ path: file, message: `YAML syntax error at line ${line}, column ${col}: ${error.message} (fix the YAML)` }]);
  }
  try {
    return document.toJS();
  } catch (error) {
    // e.g. an alias to an anchor that does not exist
    throw new StackFileError([{ path: file, message: `YAML error: ${(error as Error).message} (fix the YAML)` }]);
  }
}

/** The folder name, lower-cased, with anything a stack name may not contain turned into `-`. */
function defaultStackName(dir: string): string {
  return basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, '-').replace(/^[^a-z0-9]+/, '') || 'stack';
}

/** The parsed value, or undefined with its problems added to `problems`. */
function validate<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  path: PropertyKey[],
  file: string,
  problems: Problem[],
): z.output<Schema> | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  problems.push(...issuesToProblems(result.error.issues, path, file));
  return undefined;
}

/**
 * The stack-wide env files, read first because their values feed interpolation. Their own paths
 * interpolate from the environment only.
 */
function stackEnvFiles(declared: unknown, env: Variables, dir: string) {
  const interpolated = interpolate(declared, env, ['env_file']);
  const paths = interpolated.value;
  const files = typeof paths === 'string' ? [paths] : Array.isArray(paths) && paths.every((path) => typeof path === 'string') ? paths : [];
  const read = readEnvFiles(files, dir, 'env_file');
  return { declared: paths, values: read.values, problems: [...interpolated.problems, ...read.problems] };
}

/** The file with every `${...}` replaced, and the stack-wide env file values. */
function interpolateStack(root: unknown, env: Variables, dir: string) {
  if (!isPlainMap(root)) return { value: root, envFileValues: {}, problems: [] };
  const { env_file: declaredEnvFiles, ...rest } = root;
  const envFiles = stackEnvFiles(declaredEnvFiles, env, dir);
  const interpolated = interpolate(rest, { ...envFiles.values, ...env });
  return {
    value: { ...(interpolated.value as object), env_file: envFiles.declared },
    envFileValues: envFiles.values,
    problems: [...envFiles.problems, ...interpolated.problems],
  };
}

/**
 * Names of `env:` entries at `path` of the file as written whose value interpolates nothing: the
 * literals, which may be shown to a person. A value with any `$` (an interpolation, even `$$`) is
 * treated as secret.
 */
function literalEnvNames(root: unknown, path: string[]): Set<string> {
  let node = root;
  for (const key of path) node = isPlainMap(node) ? node[key] : undefined;
  if (!isPlainMap(node)) return new Set();
  return new Set(Object.entries(node).filter(([, value]) => !String(value).includes('$')).map(([name]) => name));
}

/** Later problems at (or under) the path of an earlier one are its consequences, not news. */
function withoutConsequences(causes: Problem[], problems: Problem[]): Problem[] {
  const isUnder = (path: string, cause: string) => path === cause || path.startsWith(`${cause}.`) || path.startsWith(`${cause}[`);
  return problems.filter((problem) => !causes.some((cause) => isUnder(problem.path, cause.path)));
}

interface ServicesContext extends ServiceContext {
  file: string;
  defaults: ServiceInput | undefined;
}

/** Each service validated on its own, so that one broken service does not hide the others' problems. */
function resolveServices(declared: Record<string, unknown>, context: ServicesContext, problems: Problem[]) {
  const services = new Map<string, BaseService>();
  const invalidServices: string[] = [];
  for (const [name, raw] of Object.entries(declared)) {
    if (!SERVICE_NAME.test(name)) {
      problems.push({ path: `services.${name}`, message: `invalid service name "${name}" (use letters, digits, ".", "_" and "-", starting with a letter or digit)` });
    }
    const input = validate(serviceSchema, raw, ['services', name], context.file, problems);
    if (!input || !context.defaults) {
      invalidServices.push(name);
      continue;
    }
    const report = (field: string, message: string) => problems.push({ path: `services.${name}.${field}`, message });
    services.set(name, resolveService(name, applyDefaults(context.defaults, input), context, report));
  }
  return { services, invalidServices };
}

export function parseStack(text: string, options: ParseOptions): LoadedStack {
  const file = resolve(options.file);
  const dir = dirname(file);
  const env = options.env ?? process.env;
  const raw = parseYaml(text, options.file);
  const interpolated = interpolateStack(raw, env, dir);
  const problems: Problem[] = [];

  const stack = validate(stackSchema, interpolated.value, [], options.file, problems);
  // read past top-level problems (a bad name, an unknown key) so that the services' problems show as well
  const root = isPlainMap(interpolated.value) ? interpolated.value : {};
  const declaredServices = isPlainMap(root.services) ? root.services : {};
  const isEmpty = root.services == null || (isPlainMap(root.services) && Object.keys(root.services).length === 0);
  if (isEmpty && (interpolated.value == null || isPlainMap(interpolated.value))) {
    problems.push({ path: 'services', message: 'no services declared (add one, e.g. services: { api: { command: [node, server.js] } })' });
  }
  const defaults = validate(serviceSchema, root.defaults ?? {}, ['defaults'], options.file, problems);
  const stackEnv = { ...interpolated.envFileValues, ...stack?.env };
  const literalStackEnv = literalEnvNames(raw, ['env']);
  const literalDefaultsEnv = literalEnvNames(raw, ['defaults', 'env']);
  const literalEnv = (service: string) => {
    const written = isPlainMap(declaredServices[service]) ? declaredServices[service].env : undefined;
    const writtenNames = new Set(isPlainMap(written) ? Object.keys(written) : []);
    const fromDefaults = [...literalDefaultsEnv].filter((name) => !writtenNames.has(name));
    return new Set([...literalEnvNames(raw, ['services', service, 'env']), ...fromDefaults]);
  };
  const context = { file: options.file, dir, stackEnv, defaults, literalStackEnv, literalEnv };
  const { services, invalidServices } = resolveServices(declaredServices, context, problems);

  const resolved = resolveStack({
    name: stack?.name ?? defaultStackName(dir),
    file,
    home: resolve(options.home || env.STACKFLOW_HOME || resolve(dir, '.stackflow')),
    services,
    invalidServices,
  });
  const all = [...interpolated.problems, ...withoutConsequences(interpolated.problems, [...problems, ...resolved.problems])];
  if (all.length > 0 || !resolved.loaded) throw new StackFileError(all);
  return resolved.loaded;
}
