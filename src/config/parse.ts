// Stack file text -> LoadedStack: YAML, interpolation, validation, defaults, resolution.
import { dirname, resolve } from 'node:path';
import { isScalar, LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { readEnvFiles } from './env-file.js';
import type { Lookup, Variables } from './interpolate.js';
import { interpolate, lookupIn, pathKey } from './interpolate.js';
import { applyDefaults } from './merge.js';
import { hasName, isPlainMap, mergeNameMaps, nameMap } from '../name-map.js';
import type { NameMap } from '../name-map.js';
import { issuesToProblems } from './messages.js';
import type { Problem } from './problems.js';
import { StackFileError } from './problems.js';
import { payloadProblems } from './payload.js';
import type { LoadedStack } from './resolve.js';
import { resolveStack } from './resolve.js';
import type { ServiceInput } from './schema.js';
import { SERVICE_NAME, serviceSchema, stackSchema } from './schema.js';
import type { BaseService, ServiceContext } from './service.js';
import { resolveService } from './service.js';
import { defaultStackName, stackHome } from './stack-name.js';

export { defaultStackName, stackHome };
import { didYouMean } from './suggest.js';
import type { HostSpec } from '../model.js';
import { DEFAULT_HOST } from '../model.js';

export interface ParseOptions {
  /** The stack file's path as the user gave it: problems name it, `spec.file` is its absolute form. */
  file: string;
  /** Variables for `${VAR}` interpolation; default process.env. */
  env?: Variables;
  /** STACKFLOW_HOME; default `env.STACKFLOW_HOME`, else `.stackflow` beside the stack file. */
  home?: string;
}

/**
 * The YAML as data, every scalar as the text the user wrote: `24.10`, `0123`, `01970`, `1e3`, `true`
 * and `0x1F` stay those strings (YAML 1.2's core schema would make them 24.1, 123, 1970, 1000, a
 * boolean and 31), keys included (`stringKeys`); `null`, `~` and an empty value stay null ("not given").
 * Fields that want a number, a flag or a duration parse the text themselves (schema.ts).
 */
function parseYaml(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  // `merge`: YAML's `<<: *anchor` merge keys, which compose files use to share definitions
  const document = parseDocument(text, { lineCounter, prettyErrors: false, stringKeys: true, merge: true });
  const [error] = document.errors;
  if (error) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw new StackFileError([{ path: file, message: `YAML syntax error at line ${line}, column ${col}: ${error.message} (fix the YAML)` }]);
  }
  visit(document, {
    Scalar(_key, node) {
      if (isScalar(node) && node.value !== null && typeof node.value !== 'string' && node.source !== undefined) node.value = node.source;
    },
  });
  try {
    return document.toJS();
  } catch (error) {
    // e.g. an alias to an anchor that does not exist
    throw new StackFileError([{ path: file, message: `YAML error: ${(error as Error).message} (fix the YAML)` }]);
  }
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
 * The stack-wide env files, read first because their values feed interpolation (as compose's `.env`).
 * Their own paths interpolate from the caller's environment only.
 */
function stackEnvFiles(declared: unknown, env: Variables, dir: string) {
  const interpolated = interpolate(declared, env, ['env_file']);
  const paths = interpolated.value;
  const files = typeof paths === 'string' ? [paths] : Array.isArray(paths) && paths.every((path) => typeof path === 'string') ? paths : [];
  const read = readEnvFiles(files, dir, 'env_file', lookupIn(env));
  return { declared: paths, values: read.values, problems: [...interpolated.problems, ...read.problems] };
}

/**
 * The file with every `${...}` replaced (the caller's environment over the stack-wide env files), the
 * stack-wide env file values, and which strings took something from a variable (see publicEnv).
 */
function interpolateStack(root: unknown, env: Variables, dir: string) {
  if (!isPlainMap(root)) return { value: root, envFileValues: nameMap<string>(), fromVariables: new Set<string>(), problems: [] };
  const { env_file: declaredEnvFiles, ...rest } = root;
  const envFiles = stackEnvFiles(declaredEnvFiles, env, dir);
  const variables = mergeNameMaps<string | undefined>(envFiles.values, env);
  const interpolated = interpolate(rest, variables);
  return {
    value: mergeNameMaps(interpolated.value as Record<string, unknown>, nameMap([['env_file', envFiles.declared]])),
    envFileValues: envFiles.values,
    fromVariables: interpolated.fromVariables,
    problems: [...envFiles.problems, ...interpolated.problems],
  };
}

/** Later problems at (or under) the path of an earlier one are its consequences, not news. */
function withoutConsequences(causes: Problem[], problems: Problem[]): Problem[] {
  const isUnder = (path: string, cause: string) => path === cause || path.startsWith(`${cause}.`) || path.startsWith(`${cause}[`);
  return problems.filter((problem) => !causes.some((cause) => isUnder(problem.path, cause.path)));
}

interface ServicesContext extends Omit<ServiceContext, 'isLiteralEnv'> {
  file: string;
  defaults: ServiceInput | undefined;
  /** Whether the string at this path of the file was written without a variable that is set. */
  isLiteral: (path: PropertyKey[]) => boolean;
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
    // a service's own env entry, else the one from `defaults:` (merge.ts), is where its value was written
    const isLiteralEnv = (key: string) =>
      context.isLiteral(input.env && hasName(input.env, key) ? ['services', name, 'env', key] : ['defaults', 'env', key]);
    services.set(name, resolveService(name, applyDefaults(context.defaults, input), { ...context, isLiteralEnv }, report));
  }
  return { services, invalidServices };
}

/** The names in the stack-wide env whose value may be shown: written literally in the stack's `env:`. */
function publicStackEnv(env: NameMap<string> | undefined, isLiteral: (path: PropertyKey[]) => boolean): Set<string> {
  return new Set(Object.keys(env ?? {}).filter((key) => isLiteral(['env', key])));
}

/**
 * With a `hosts:` map, every `host:` a service names must be one of its ids (services without
 * `host:` run on the default host, which need not be listed).
 */
function hostProblems(services: Map<string, BaseService>, hosts: NameMap<HostSpec>): Problem[] {
  const known = Object.keys(hosts);
  return [...services]
    .filter(([, service]) => service.spec.host !== DEFAULT_HOST && !hasName(hosts, service.spec.host))
    .map(([name, service]) => ({
      path: `services.${name}.host`,
      message: `unknown host "${service.spec.host}"${didYouMean(service.spec.host, known)} (declare it under hosts:, which lists ${known.join(', ') || 'no host'})`,
    }));
}

/**
 * Stack file text -> the resolved stack. Throws StackFileError with every problem found (each naming
 * its path and the fix), including a resolved stack too large for a Temporal payload (payload.ts).
 */
export function parseStack(text: string, options: ParseOptions): LoadedStack {
  const file = resolve(options.file);
  const dir = dirname(file);
  const env = options.env ?? process.env;
  const interpolated = interpolateStack(parseYaml(text, options.file), env, dir);
  const isLiteral = (path: PropertyKey[]) => !interpolated.fromVariables.has(pathKey(path));
  const problems: Problem[] = [];

  const stack = validate(stackSchema, interpolated.value, [], options.file, problems);
  // read past top-level problems (a bad name, an unknown key) so that the services' problems show as well
  const root = isPlainMap(interpolated.value) ? interpolated.value : nameMap<unknown>();
  const declaredServices = isPlainMap(root.services) ? root.services : nameMap<unknown>();
  const isEmpty = root.services == null || (isPlainMap(root.services) && Object.keys(root.services).length === 0);
  if (isEmpty && (interpolated.value == null || isPlainMap(interpolated.value))) {
    problems.push({ path: 'services', message: 'no services declared (add one, e.g. services: { api: { command: [node, server.js] } })' });
  }
  const defaults = validate(serviceSchema, root.defaults ?? {}, ['defaults'], options.file, problems);
  const context = {
    file: options.file,
    dir,
    stackEnv: mergeNameMaps(interpolated.envFileValues, stack?.env),
    publicStackEnv: publicStackEnv(stack?.env, isLiteral),
    variables: lookupIn(mergeNameMaps<string | undefined>(interpolated.envFileValues, env)) satisfies Lookup,
    defaults,
    isLiteral,
  };
  const { services, invalidServices } = resolveServices(declaredServices, context, problems);

  const hosts = stack?.hosts === undefined ? undefined : nameMap(Object.entries(stack.hosts).map(([id, host]) => [id, host?.address === undefined ? {} : { address: host.address }] as const));
  if (hosts) problems.push(...hostProblems(services, hosts));
  const resolved = resolveStack({
    name: stack?.name ?? defaultStackName(dir),
    file,
    home: stackHome(dir, env, options.home),
    services,
    invalidServices,
    ...(hosts && { hosts }),
  });
  const all = [...interpolated.problems, ...withoutConsequences(interpolated.problems, [...problems, ...resolved.problems])];
  if (resolved.loaded) all.push(...payloadProblems(resolved.loaded.spec, options.file));
  if (all.length > 0 || !resolved.loaded) throw new StackFileError(all);
  return resolved.loaded;
}
