// The shape of a stack file as written. Values are checked and normalised here; defaults are NOT applied
// here, because `defaults:` must be merged under each service first (see merge.ts and service.ts).
import { z } from 'zod';
import { toArgv } from './command-line.js';
import { invalidDurationMessage, parseDuration } from './durations.js';
import { isPlainMap, nameMap } from '../name-map.js';
import { describeValue } from './problems.js';
import { STACK_NAME } from './stack-name.js';

export { STACK_NAME };

/** Marks an unknown key; messages.ts turns it into `unknown key "x" (did you mean "y"?)`. */
export interface UnknownKeyParams {
  unknownKeyOf: string[];
}

/**
 * A map with a fixed set of keys. An empty value (`health:` with nothing after it, or a whole empty
 * service) counts as not given; any other key is reported as unknown.
 */
function strictMap<Shape extends z.ZodRawShape>(shape: Shape) {
  const keys = Object.keys(shape);
  const withoutEmptyValues = (value: unknown, ctx: z.RefinementCtx): unknown => {
    if (value === null) return {};
    if (!isPlainMap(value)) return value;
    // zod's object never sees a `__proto__` key (it reads it as the prototype): reported here instead
    if (Object.hasOwn(value, '__proto__')) {
      ctx.addIssue({ code: 'custom', message: 'unknown key', path: ['__proto__'], params: { unknownKeyOf: keys } satisfies UnknownKeyParams });
    }
    return Object.fromEntries(Object.entries(value).filter(([key, item]) => key !== '__proto__' && (item !== null || !keys.includes(key))));
  };
  const unknownKey = z.unknown().superRefine((_value, ctx) => {
    ctx.addIssue({ code: 'custom', message: 'unknown key', params: { unknownKeyOf: keys } satisfies UnknownKeyParams });
  });
  // typed as zod's strict object, which it is: any other key fails (with our own issue instead of zod's)
  const strict = z.object(shape).catchall(unknownKey) as unknown as z.ZodObject<Shape, z.core.$strict>;
  return z.preprocess(withoutEmptyValues, strict);
}

/** A decimal number as text (every scalar arrives as the text written, see parse.ts): `8001`, `1.5`, `1e3`. */
function numeric<Schema extends z.ZodType>(schema: Schema) {
  return z.preprocess((value) => (typeof value === 'string' && /^\s*-?\d+(\.\d+)?(e[-+]?\d+)?\s*$/i.test(value) ? Number(value) : value), schema);
}

/** YAML 1.2's booleans as text: true, True, TRUE, false, False, FALSE (also what `${FLAG:-false}` gives). */
const flag = z.preprocess((value) => (typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : value), z.boolean());

function duration({ positive = false } = {}) {
  return z.unknown().transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: invalidDurationMessage(value) });
    else if (positive && ms === 0) ctx.addIssue({ code: 'custom', message: 'must be more than 0 (e.g. 1s)' });
    else return ms;
    return z.NEVER;
  });
}

const nonEmptyString = z.string().min(1);
const port = numeric(z.number().int().min(1).max(65535));
const positiveCount = numeric(z.number().int().min(1));
const stringOrList = z.union([z.string(), z.array(z.string())]);
const listOfStrings = stringOrList.transform((value) => (typeof value === 'string' ? [value] : value));
/**
 * `NAME: value` -> a null-prototype map (names are data: `__proto__` and `constructor` are variables like
 * any other). Values are the text written (`24.10` stays `24.10`, see parse.ts). A name may not be empty
 * or hold `=` or a NUL byte: a process environment cannot carry it.
 */
const envMap = z.unknown().transform((value, ctx) => {
  if (!isPlainMap(value)) {
    ctx.addIssue({ code: 'invalid_type', expected: 'record', input: value });
    return z.NEVER;
  }
  for (const [name, item] of Object.entries(value)) {
    if (name === '' || /[=\0]/.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: `invalid variable name ${JSON.stringify(name)} (a name may not be empty or contain "=")` });
    } else if (typeof item !== 'string') {
      // compose reads `NAME:` with no value as "NAME from the caller's environment": stackflow asks which was meant
      const hint = item === null ? ` (write "" for an empty value, or "\${${name}}" for the caller's ${name})` : '';
      ctx.addIssue({ code: 'custom', path: [name], message: `expected a string, got ${describeValue(item)}${hint}` });
    }
  }
  return nameMap(Object.entries(value) as [string, string][]);
});

const argv = stringOrList.transform((command, ctx) => {
  const result = toArgv(command);
  if ('argv' in result) return result.argv;
  ctx.addIssue({ code: 'custom', message: result.problem });
  return z.NEVER;
});

const httpUrl = z.string().superRefine((url, ctx) => {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    ctx.addIssue({ code: 'custom', message: `invalid URL "${url}" (use e.g. http://127.0.0.1:8001/health)` });
  }
});

const regexSource = z.string().superRefine((pattern, ctx) => {
  try {
    new RegExp(pattern);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid pattern "${pattern}" (${(error as Error).message})` });
  }
});

const probeKinds = {
  http: strictMap({ url: httpUrl, status: numeric(z.number().int().min(100).max(599)).optional() }).optional(),
  tcp: strictMap({ port: port.optional(), host: nonEmptyString.optional() }).optional(),
  exec: strictMap({ command: argv }).optional(),
  log: strictMap({ pattern: regexSource }).optional(),
};
const PROBE_KIND_NAMES = Object.keys(probeKinds) as (keyof typeof probeKinds)[];

type ProbeKinds = { [Kind in keyof typeof probeKinds]?: z.output<(typeof probeKinds)[Kind]> };

/** A declared probe; a tcp probe without a port probes the service's port (filled in by service.ts). */
export type ProbeInput =
  | { kind: 'http'; url: string; status: number }
  | { kind: 'tcp'; host: string; port?: number }
  | { kind: 'exec'; command: string[] }
  | { kind: 'log'; pattern: string };

function declaredProbe({ http, tcp, exec, log }: ProbeKinds): ProbeInput | undefined {
  if (http) return { kind: 'http', url: http.url, status: http.status ?? 200 };
  if (tcp) return { kind: 'tcp', host: tcp.host ?? '127.0.0.1', ...(tcp.port === undefined ? {} : { port: tcp.port }) };
  if (exec) return { kind: 'exec', command: exec.command };
  if (log) return { kind: 'log', pattern: log.pattern };
  return undefined;
}

/** Probe settings as written -> the same with the probe kinds folded into one `probe` (undefined = the default). */
function withSingleProbe<Settings extends ProbeKinds>(settings: Settings, ctx: z.RefinementCtx) {
  const kinds = PROBE_KIND_NAMES.filter((kind) => settings[kind] !== undefined);
  if (kinds.length > 1) {
    ctx.addIssue({ code: 'custom', message: `use exactly one of http, tcp, exec, log (found ${kinds.join(' and ')})` });
    return z.NEVER;
  }
  const { http: _http, tcp: _tcp, exec: _exec, log: _log, ...timing } = settings;
  return { ...timing, probe: declaredProbe(settings) };
}

const probeTiming = {
  interval: duration({ positive: true }).optional(),
  timeout: duration({ positive: true }).optional(),
  start_period: duration().optional(),
};
const readiness = strictMap({ ...probeKinds, ...probeTiming, ready_timeout: duration({ positive: true }).optional() }).transform(
  withSingleProbe,
);
const liveness = strictMap({ ...probeKinds, ...probeTiming, failure_threshold: positiveCount.optional() }).transform(
  withSingleProbe,
);

/** What a service may be called (a key of `services:`, a name in `depends_on`). */
export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Checks the names of a map before zod reads it (zod's record drops a `__proto__` key silently). */
const serviceNameKeys = z.unknown().superRefine((value, ctx) => {
  if (!isPlainMap(value)) return;
  for (const name of Object.keys(value)) {
    if (!SERVICE_NAME.test(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'invalid service name (use letters, digits, ".", "_" and "-", starting with a letter or digit)' });
    }
  }
});

const DEPENDENCY_CONDITIONS = ['started', 'healthy', 'completed_successfully'] as const;
const condition = z.enum(DEPENDENCY_CONDITIONS);
/** `[a, b]`, `{ a: healthy }` or `{ a: { condition: healthy, timeout: 30s } }` -> `{ a: { condition, timeout? } }`. */
const dependsOn = serviceNameKeys.pipe(z.union([
  z.array(z.string()).transform((names) => nameMap(names.map((name) => [name, { condition: 'healthy' as const }] as const))),
  z.record(
    z.string(),
    z.union([
      condition.transform((short) => ({ condition: short })),
      strictMap({ condition: condition.optional(), timeout: duration({ positive: true }).optional() }).transform((long) => ({
        condition: long.condition ?? ('healthy' as const),
        ...(long.timeout === undefined ? {} : { timeout: long.timeout }),
      })),
    ]),
  ),
]));

const RESTART_POLICIES = ['always', 'on-failure', 'never'] as const;
const restartPolicy = z.enum(RESTART_POLICIES);
const restartSettings = strictMap({
  policy: restartPolicy.optional(),
  max_restarts: numeric(z.number().int().min(0)).optional(),
  backoff: strictMap({
    initial: duration().optional(),
    max: duration().optional(),
    factor: numeric(z.number().min(1)).optional(),
  }).optional(),
});
/** `restart: always` is short for `restart: { policy: always }`, as in docker compose. */
const restart = z.union([
  restartPolicy.transform((policy): z.output<typeof restartSettings> => ({ policy })),
  restartSettings,
]);

/**
 * `watch:` restarts the service when files change: `paths` as docker compose's `develop.watch` `path`
 * (relative to the stack file), `ignore` globs relative to each path, `debounce` as process-compose's.
 * `paths` may be left to the service when `defaults:` gives the rest.
 */
const watch = strictMap({
  paths: listOfStrings.optional(),
  ignore: listOfStrings.optional(),
  debounce: duration().optional(),
});

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGKILL'] as const;

export const serviceSchema = strictMap({
  command: stringOrList.optional(),
  shell: flag.optional(),
  cwd: nonEmptyString.optional(),
  env: envMap.optional(),
  env_file: listOfStrings.optional(),
  port: port.optional(),
  depends_on: dependsOn.optional(),
  health: readiness.optional(),
  liveness: liveness.optional(),
  restart: restart.optional(),
  shutdown: strictMap({ signal: z.enum(SIGNALS).optional(), timeout: duration().optional() }).optional(),
  replicas: positiveCount.optional(),
  watch: watch.optional(),
  host: nonEmptyString.optional(),
  disabled: flag.optional(),
});
export type ServiceInput = z.output<typeof serviceSchema>;

/** The top level. `defaults` and each service are validated one by one (see parse.ts), so they stay unknown here. */
export const stackSchema = strictMap({
  name: z
    .string()
    .superRefine((name, ctx) => {
      if (!STACK_NAME.test(name)) {
        ctx.addIssue({
          code: 'custom',
          message: `invalid stack name "${name}" (use lower-case letters, digits, "_" and "-", starting with a letter or digit)`,
        });
      }
    })
    .optional(),
  env_file: listOfStrings.optional(),
  env: envMap.optional(),
  defaults: z.unknown().optional(),
  services: z.record(z.string(), z.unknown()).optional(),
  /**
   * The hosts services may name in `host:`, each optionally with the address other hosts reach it at
   * (overrides the host's `worker --advertise`). `b: {}` (or `b:`) lists a host without an address.
   */
  hosts: z.record(z.string(), strictMap({ address: nonEmptyString.optional() }).nullable()).optional(),
});
