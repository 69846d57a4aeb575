import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatProblem, parseStack, StackFileError } from '../../src/config/index.js';
import type { LoadedStack } from '../../src/config/index.js';
import type { ServiceSpec } from '../../src/model.js';

const dir = mkdtempSync(join(tmpdir(), 'stackflow-config-'));
const file = join(dir, 'stack.yaml');
type Env = Record<string, string | undefined>;

function load(text: string, env: Env = {}): LoadedStack {
  return parseStack(text, { file, env });
}

/** JSON is YAML: most tests write the stack as an object. */
function loadObject(stack: object, env: Env = {}): LoadedStack {
  return load(JSON.stringify(stack), env);
}

function service(stack: object, name: string): ServiceSpec {
  return loadObject(stack).spec.services[name]!;
}

function problemsOf(text: string, env: Env = {}): string[] {
  try {
    load(text, env);
  } catch (error) {
    if (error instanceof StackFileError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected the stack file to be rejected');
}

function problemsOfObject(stack: object, env: Env = {}): string[] {
  return problemsOf(JSON.stringify(stack), env);
}

/** The problems of one service, declared alongside a valid `data` service. */
function problemsOfService(definition: object, env: Env = {}): string[] {
  return problemsOfObject({ services: { data: { command: 'data', port: 8001 }, api: definition } }, env);
}

function writeFile(relative: string, text: string): void {
  mkdirSync(resolve(dir, relative, '..'), { recursive: true });
  writeFileSync(resolve(dir, relative), text);
}

describe('a minimal service', () => {
  it('gets every built-in default', () => {
    const loaded = load('services:\n  api:\n    command: node server.js\n');
    expect(loaded.spec.services).toEqual({
      api: {
        name: 'api',
        command: ['node', 'server.js'],
        shell: false,
        cwd: dir,
        env: { STACKFLOW_STACK: loaded.spec.name, STACKFLOW_SERVICE: 'api' },
        publicEnv: ['STACKFLOW_SERVICE', 'STACKFLOW_STACK'],
        dependsOn: {},
        health: { probe: { kind: 'process' }, intervalMs: 1000, timeoutMs: 2000, startPeriodMs: 0, readyTimeoutMs: 60_000 },
        restart: { policy: 'on-failure', maxRestarts: 5, backoff: { initialMs: 1000, maxMs: 30_000, factor: 2 } },
        shutdown: { signal: 'SIGTERM', timeoutMs: 10_000 },
        host: 'local',
      },
    });
    expect(loaded.disabled).toEqual([]);
    expect(loaded.levels).toEqual([['api']]);
  });

  it('with a port is probed over TCP and told its PORT', () => {
    const api = service({ services: { api: { command: 'x', port: 8080 } } }, 'api');
    expect(api.port).toBe(8080);
    expect(api.health.probe).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 8080 });
    expect(api.env.PORT).toBe('8080');
  });
});

describe('the stack', () => {
  it('records the absolute stack file and its name', () => {
    const { spec } = loadObject({ name: 'demo_1', services: { api: { command: 'x' } } });
    expect(spec.name).toBe('demo_1');
    expect(spec.file).toBe(file);
  });

  it('is named after its folder by default, lower-cased, invalid characters replaced', () => {
    const folder = join(dir, 'My App.v2');
    mkdirSync(folder);
    expect(parseStack('services: { api: { command: x } }', { file: join(folder, 'stack.yaml'), env: {} }).spec.name).toBe('my-app-v2');
  });

  it('keeps its state in .stackflow beside the file, or STACKFLOW_HOME, or the given home', () => {
    const text = 'services: { api: { command: x } }';
    expect(load(text).spec.home).toBe(join(dir, '.stackflow'));
    expect(load(text, { STACKFLOW_HOME: 'state' }).spec.home).toBe(resolve('state'));
    expect(parseStack(text, { file, env: { STACKFLOW_HOME: '/a' }, home: '/b' }).spec.home).toBe('/b');
  });

  it('accepts JSON', () => {
    const loaded = load('{ "name": "j", "services": { "api": { "command": ["node", "a.js"], "port": 9000 } } }');
    expect(loaded.spec.services.api!.command).toEqual(['node', 'a.js']);
  });
});

describe('command, shell and cwd', () => {
  it('splits a string command into argv and keeps a list as is', () => {
    expect(service({ services: { api: { command: `node "my app.js" --x 'a b'` } } }, 'api').command).toEqual(['node', 'my app.js', '--x', 'a b']);
    expect(service({ services: { api: { command: ['node', 'a b.js'] } } }, 'api').command).toEqual(['node', 'a b.js']);
  });

  it('runs a shell command through /bin/sh -c', () => {
    const api = service({ services: { api: { command: 'node a.js | tee out.log', shell: true } } }, 'api');
    expect(api.command).toEqual(['/bin/sh', '-c', 'node a.js | tee out.log']);
    expect(api.shell).toBe(true);
  });

  it('resolves cwd against the stack file folder', () => {
    expect(service({ services: { api: { command: 'x', cwd: 'services/api' } } }, 'api').cwd).toBe(join(dir, 'services/api'));
    expect(service({ services: { api: { command: 'x', cwd: '/srv' } } }, 'api').cwd).toBe('/srv');
  });

  it('reports a missing or empty command', () => {
    const missing = 'services.api.command: missing (give the program to run, e.g. command: [node, server.js])';
    expect(problemsOfService({ port: 8000 })).toEqual([missing]);
    expect(problemsOfService({ command: [] })).toEqual([missing]);
    expect(problemsOfService({ command: '  ' })).toEqual([missing]);
    expect(problemsOf('services:\n  api:\n')).toEqual([missing]);
  });

  it('reports an unterminated quote', () => {
    expect(problemsOfService({ command: 'node "a.js' })).toEqual([
      'services.api.command: unterminated " quote (close it, or write the command as a list)',
    ]);
  });

  it('requires a string command with shell: true', () => {
    expect(problemsOfService({ command: ['a', 'b'], shell: true })).toEqual([
      'services.api.command: with shell: true, command must be a string (e.g. command: "node server.js | tee out.log")',
    ]);
  });
});

describe('depends_on', () => {
  const stack = (dependsOn: unknown) => ({
    services: { data: { command: 'x' }, migrate: { command: 'x' }, api: { command: 'x', depends_on: dependsOn } },
  });

  it('accepts the short form, the long form and a list', () => {
    expect(service(stack({ data: 'started', migrate: { condition: 'completed_successfully' } }), 'api').dependsOn).toEqual({
      data: { condition: 'started' },
      migrate: { condition: 'completed_successfully' },
    });
    expect(service(stack({ data: {} }), 'api').dependsOn).toEqual({ data: { condition: 'healthy' } });
    expect(service(stack(['data', 'migrate']), 'api').dependsOn).toEqual({
      data: { condition: 'healthy' },
      migrate: { condition: 'healthy' },
    });
  });

  it('orders the start levels by dependencies', () => {
    expect(loadObject(stack(['data', 'migrate'])).levels).toEqual([['data', 'migrate'], ['api']]);
  });

  it('reports an unknown condition with a suggestion', () => {
    expect(problemsOfObject(stack({ data: 'healty' }))).toEqual([
      'services.api.depends_on.data: expected one of started, healthy, completed_successfully, got string "healty" (did you mean "healthy"?)',
    ]);
    expect(problemsOfObject(stack({ data: { condition: 'done' } }))).toEqual([
      'services.api.depends_on.data.condition: expected one of started, healthy, completed_successfully, got string "done"',
    ]);
  });

  it('reports a dependency written as something else than a condition or a map', () => {
    expect(problemsOfObject(stack({ data: [] }))).toEqual([
      'services.api.depends_on.data: expected one of started, healthy, completed_successfully or a map, got a list',
    ]);
    expect(problemsOfObject(stack('data'))).toEqual(['services.api.depends_on: expected a list or a map, got string "data"']);
  });

  it('reports an unknown service with a suggestion', () => {
    expect(problemsOfObject(stack({ dta: 'healthy' }))).toEqual([
      'services.api.depends_on.dta: unknown service "dta" (did you mean "data"?)',
    ]);
    expect(problemsOfObject(stack(['zzz']))).toEqual(['services.api.depends_on.zzz: unknown service "zzz"']);
  });

  it('reports a dependency cycle of three', () => {
    const cycle = { services: { a: { command: 'x', depends_on: ['b'] }, b: { command: 'x', depends_on: ['c'] }, c: { command: 'x', depends_on: ['a'] } } };
    expect(problemsOfObject(cycle)).toEqual(['services: dependency cycle a -> b -> c -> a (remove one of these depends_on entries)']);
  });

  it('reports a service depending on itself', () => {
    expect(problemsOfObject({ services: { a: { command: 'x', depends_on: ['a'] } } })).toEqual([
      'services: dependency cycle a -> a (remove one of these depends_on entries)',
    ]);
  });
});

describe('disabled services', () => {
  it('are left out of the spec and listed as disabled', () => {
    const loaded = loadObject({ services: { api: { command: 'x' }, tools: { command: 'x', disabled: true } } });
    expect(Object.keys(loaded.spec.services)).toEqual(['api']);
    expect(loaded.disabled).toEqual(['tools']);
  });

  it('may not be depended on by an enabled service', () => {
    expect(problemsOfObject({ services: { api: { command: 'x', depends_on: ['tools'] }, tools: { command: 'x', disabled: true } } })).toEqual([
      'services.api.depends_on.tools: service "tools" is disabled (enable it or remove the dependency)',
    ]);
  });

  it('do not take part in port clashes and cycles', () => {
    const loaded = loadObject({
      services: { api: { command: 'x', port: 8000 }, old: { command: 'x', port: 8000, depends_on: ['old'], disabled: true } },
    });
    expect(loaded.disabled).toEqual(['old']);
  });
});

describe('ports', () => {
  it('reports two services on one port', () => {
    expect(problemsOfObject({ services: { a: { command: 'x', port: 8000 }, b: { command: 'x', port: 8000 } } })).toEqual([
      'services.b.port: port 8000 is also used by "a" (give each service its own port)',
    ]);
  });

  it('counts the ports of every replica', () => {
    expect(problemsOfObject({ services: { a: { command: 'x', port: 8000, replicas: 3 }, b: { command: 'x', port: 8002 } } })).toEqual([
      'services.b.port: port 8002 is also used by "a#2" (give each service its own port)',
    ]);
  });

  it('reports replicas that would run past port 65535', () => {
    expect(problemsOfService({ command: 'x', port: 65535, replicas: 2 })).toEqual([
      'services.api.replicas: 2 replicas need ports 65535..65536, past 65535 (lower port or replicas)',
    ]);
  });

  it('reports a port out of range or not a number', () => {
    expect(problemsOfService({ command: 'x', port: 70000 })).toEqual(['services.api.port: must be at most 65535, got 70000']);
    expect(problemsOfService({ command: 'x', port: 0 })).toEqual(['services.api.port: must be at least 1, got 0']);
    expect(problemsOfService({ command: 'x', port: '80a' })).toEqual(['services.api.port: expected a number, got string "80a"']);
    expect(problemsOfService({ command: 'x', port: 80.5 })).toEqual(['services.api.port: expected a whole number, got number 80.5']);
  });
});

describe('health', () => {
  const health = (definition: object, extra: object = {}) => service({ services: { api: { command: 'x', health: definition, ...extra } } }, 'api').health;

  it('reads each probe kind with its defaults', () => {
    expect(health({ http: { url: 'http://127.0.0.1:8001/health' } }).probe).toEqual({ kind: 'http', url: 'http://127.0.0.1:8001/health', status: 200 });
    expect(health({ http: { url: 'https://h/x', status: 204 } }).probe).toEqual({ kind: 'http', url: 'https://h/x', status: 204 });
    expect(health({ tcp: { port: 5432 } }).probe).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5432 });
    expect(health({ tcp: { host: 'db', port: 5432 } }).probe).toEqual({ kind: 'tcp', host: 'db', port: 5432 });
    expect(health({ tcp: {} }, { port: 9000 }).probe).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 9000 });
    expect(health({ exec: { command: 'pg_isready -h "local host"' } }).probe).toEqual({ kind: 'exec', command: ['pg_isready', '-h', 'local host'] });
    expect(health({ exec: { command: ['true'] } }).probe).toEqual({ kind: 'exec', command: ['true'] });
    expect(health({ log: { pattern: 'Uvicorn running' } }).probe).toEqual({ kind: 'log', pattern: 'Uvicorn running' });
  });

  it('reads the timings as milliseconds', () => {
    expect(health({ interval: '250ms', timeout: '1s', start_period: '1m', ready_timeout: 90_000 })).toEqual({
      probe: { kind: 'process' },
      intervalMs: 250,
      timeoutMs: 1000,
      startPeriodMs: 60_000,
      readyTimeoutMs: 90_000,
    });
  });

  it('reports two probe kinds at once', () => {
    expect(problemsOfService({ command: 'x', health: { http: { url: 'http://h/' }, tcp: { port: 1 } } })).toEqual([
      'services.api.health: use exactly one of http, tcp, exec, log (found http and tcp)',
    ]);
  });

  it('reports a bad duration', () => {
    expect(problemsOfService({ command: 'x', health: { interval: '5 sec' } })).toEqual([
      'services.api.health.interval: invalid duration "5 sec" (use e.g. 250ms, 2s, 1m, or a number of milliseconds)',
    ]);
    expect(problemsOfService({ command: 'x', health: { timeout: 0 } })).toEqual(['services.api.health.timeout: must be more than 0 (e.g. 1s)']);
  });

  it('reports a tcp probe without any port to probe', () => {
    expect(problemsOfService({ command: 'x', health: { tcp: {} } })).toEqual([
      "services.api.health.tcp.port: missing (give the port to probe, or declare the service's port)",
    ]);
  });

  it('reports a bad URL, a missing URL and a bad pattern', () => {
    expect(problemsOfService({ command: 'x', health: { http: { url: 'localhost:80' } } })).toEqual([
      'services.api.health.http.url: invalid URL "localhost:80" (use e.g. http://127.0.0.1:8001/health)',
    ]);
    expect(problemsOfService({ command: 'x', health: { http: {} } })).toEqual(['services.api.health.http.url: missing (expected a string)']);
    expect(problemsOfService({ command: 'x', health: { log: { pattern: '(' } } })).toEqual([
      'services.api.health.log.pattern: invalid pattern "(" (Invalid regular expression: /(/: Unterminated group)',
    ]);
  });
});

describe('liveness', () => {
  it('is absent unless declared', () => {
    expect(service({ services: { api: { command: 'x' } } }, 'api').liveness).toBeUndefined();
  });

  it('gets its own defaults', () => {
    expect(service({ services: { api: { command: 'x', port: 8000, liveness: {} } } }, 'api').liveness).toEqual({
      probe: { kind: 'tcp', host: '127.0.0.1', port: 8000 },
      intervalMs: 5000,
      timeoutMs: 2000,
      startPeriodMs: 0,
      failureThreshold: 3,
    });
    expect(
      service({ services: { api: { command: 'x', liveness: { http: { url: 'http://h/' }, interval: '10s', failure_threshold: 5 } } } }, 'api')
        .liveness,
    ).toEqual({ probe: { kind: 'http', url: 'http://h/', status: 200 }, intervalMs: 10_000, timeoutMs: 2000, startPeriodMs: 0, failureThreshold: 5 });
  });

  it('reports a readiness-only key', () => {
    expect(problemsOfService({ command: 'x', liveness: { ready_timeout: '1s' } })).toEqual([
      'services.api.liveness.ready_timeout: unknown key "ready_timeout"',
    ]);
  });
});

describe('restart and shutdown', () => {
  it('reads restart settings, including the compose shorthand', () => {
    expect(service({ services: { api: { command: 'x', restart: 'always' } } }, 'api').restart.policy).toBe('always');
    expect(
      service({ services: { api: { command: 'x', restart: { policy: 'never', max_restarts: 0, backoff: { initial: '500ms', max: '1m', factor: 1.5 } } } } }, 'api').restart,
    ).toEqual({ policy: 'never', maxRestarts: 0, backoff: { initialMs: 500, maxMs: 60_000, factor: 1.5 } });
  });

  it('reads shutdown settings', () => {
    expect(service({ services: { api: { command: 'x', shutdown: { signal: 'SIGINT', timeout: '30s' } } } }, 'api').shutdown).toEqual({
      signal: 'SIGINT',
      timeoutMs: 30_000,
    });
  });

  it('reports an unknown policy and an unknown signal', () => {
    expect(problemsOfService({ command: 'x', restart: { policy: 'on-fail' } })).toEqual([
      'services.api.restart.policy: expected one of always, on-failure, never, got string "on-fail" (did you mean "on-failure"?)',
    ]);
    expect(problemsOfService({ command: 'x', restart: 'sometimes' })).toEqual([
      'services.api.restart: expected one of always, on-failure, never, got string "sometimes"',
    ]);
    expect(problemsOfService({ command: 'x', shutdown: { signal: 'SIGTREM' } })).toEqual([
      'services.api.shutdown.signal: expected one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGKILL, got string "SIGTREM" (did you mean "SIGTERM"?)',
    ]);
  });
});

describe('host and replicas', () => {
  it('keeps the host', () => {
    expect(service({ services: { api: { command: 'x', host: 'gpu-box' } } }, 'api').host).toBe('gpu-box');
  });

  it('expands replicas into instances with their own port, probe and replica index', () => {
    const loaded = loadObject({
      name: 'demo',
      services: {
        data: { command: 'x', port: 8001, replicas: 3, liveness: { http: { url: 'http://127.0.0.1:8001/alive' } } },
        api: { command: 'x', depends_on: { data: 'started' } },
      },
    });
    const instances = ['data#0', 'data#1', 'data#2'].map((name) => loaded.spec.services[name]!);
    expect(instances.map((instance) => [instance.name, instance.port, instance.env.PORT, instance.env.STACKFLOW_REPLICA])).toEqual([
      ['data#0', 8001, '8001', '0'],
      ['data#1', 8002, '8002', '1'],
      ['data#2', 8003, '8003', '2'],
    ]);
    expect(instances.every((instance) => instance.env.STACKFLOW_SERVICE === 'data')).toBe(true);
    expect(instances[2]!.health.probe).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 8003 });
    expect(instances[1]!.liveness!.probe).toEqual({ kind: 'http', url: 'http://127.0.0.1:8002/alive', status: 200 });
    expect(loaded.spec.services.api!.dependsOn).toEqual({
      'data#0': { condition: 'started' },
      'data#1': { condition: 'started' },
      'data#2': { condition: 'started' },
    });
    expect(loaded.spec.services.api!.env.DATA_URL).toBe('http://127.0.0.1:8001');
    expect(loaded.levels).toEqual([['data#0', 'data#1', 'data#2'], ['api']]);
  });

  it('reports a replica count below 1 or fractional', () => {
    expect(problemsOfService({ command: 'x', replicas: 0 })).toEqual(['services.api.replicas: must be at least 1, got 0']);
    expect(problemsOfService({ command: 'x', replicas: 1.5 })).toEqual(['services.api.replicas: expected a whole number, got number 1.5']);
  });
});

describe('defaults', () => {
  it('are deep-merged under every service, the service winning', () => {
    const loaded = loadObject({
      defaults: {
        restart: { policy: 'always', backoff: { max: '10s' } },
        shutdown: { timeout: '3s' },
        env: { LOG: 'debug', REGION: 'eu' },
        health: { http: { url: 'http://127.0.0.1:1/health' }, interval: '2s' },
        host: 'box',
      },
      services: {
        api: {
          command: 'x',
          restart: { backoff: { initial: '2s' } },
          env: { LOG: 'info' },
          health: { tcp: { port: 2 } },
        },
        worker: { command: 'x', host: 'local', health: { timeout: '5s' } },
      },
    });
    const { api, worker } = loaded.spec.services;
    expect(api!.restart).toEqual({ policy: 'always', maxRestarts: 5, backoff: { initialMs: 2000, maxMs: 10_000, factor: 2 } });
    expect(api!.shutdown).toEqual({ signal: 'SIGTERM', timeoutMs: 3000 });
    expect(api!.env).toMatchObject({ LOG: 'info', REGION: 'eu' });
    expect(api!.health).toMatchObject({ probe: { kind: 'tcp', host: '127.0.0.1', port: 2 }, intervalMs: 2000 });
    expect(api!.host).toBe('box');
    expect(worker!.health).toMatchObject({ probe: { kind: 'http', url: 'http://127.0.0.1:1/health' }, intervalMs: 2000, timeoutMs: 5000 });
    expect(worker!.host).toBe('local');
  });

  it('may hold the command', () => {
    expect(service({ defaults: { command: 'node server.js' }, services: { api: { cwd: 'api' } } }, 'api').command).toEqual(['node', 'server.js']);
  });

  it('are checked like a service', () => {
    expect(problemsOfObject({ defaults: { restat: { policy: 'always' } }, services: { api: { command: 'x' } } })).toEqual([
      'defaults.restat: unknown key "restat" (did you mean "restart"?)',
    ]);
  });
});

describe('env', () => {
  it('layers stack env, env files and service env, then the injected variables, without the process environment', () => {
    writeFile('env/stack.env', 'SHARED=file\nFROM_STACK_FILE=1\n');
    writeFile('env/api.env', 'export SHARED="api file"\nFROM_API_FILE=1\n');
    const loaded = loadObject(
      {
        name: 'demo',
        env_file: 'env/stack.env',
        env: { STACK: 'yes', NUMBER: 5, FLAG: true },
        services: {
          'user-svc': { command: 'x', port: 9000 },
          jobs: { command: 'x' },
          api: { command: 'x', port: 8000, env_file: ['env/api.env'], env: { OWN: '1', PORT: '1' }, depends_on: ['user-svc', 'jobs'] },
        },
      },
      { PATH: '/usr/bin', HOME: '/home/me' },
    );
    expect(loaded.spec.services.api!.env).toEqual({
      SHARED: 'api file',
      FROM_STACK_FILE: '1',
      FROM_API_FILE: '1',
      STACK: 'yes',
      NUMBER: '5',
      FLAG: 'true',
      OWN: '1',
      STACKFLOW_STACK: 'demo',
      STACKFLOW_SERVICE: 'api',
      PORT: '8000',
      USER_SVC_URL: 'http://127.0.0.1:9000',
      USER_SVC_HOST: '127.0.0.1',
      USER_SVC_PORT: '9000',
    });
  });

  it('reports a missing env file and a line that is not an assignment', () => {
    writeFile('bad.env', 'A=1\nnot an assignment\n');
    expect(problemsOfObject({ env_file: ['nope.env'], services: { api: { command: 'x', env_file: 'bad.env' } } })).toEqual([
      `env_file: env file "nope.env" not found at ${join(dir, 'nope.env')} (create it or fix the path)`,
      'services.api.env_file: env file "bad.env" line 2: variable name "not an assignment" contains a space (write NAME=value)',
    ]);
  });

  it('reports a value that is not a string', () => {
    expect(problemsOfService({ command: 'x', env: { A: { b: 1 } } })).toEqual(['services.api.env.A: expected a string, got a map']);
  });
});

describe('interpolation', () => {
  it('fills ${VAR} and ${VAR:-default} everywhere from the environment', () => {
    const loaded = load(
      [
        'name: ${STACK:-demo}',
        'services:',
        '  api:',
        '    command: [node, "${APP_DIR}/server.js"]',
        '    port: ${API_PORT:-8000}',
        '    disabled: ${API_OFF:-false}',
        '    env: { DB_URL: "sqlite://${HOME}/data.db", PRICE: "$$5" }',
      ].join('\n'),
      { APP_DIR: '/srv/app', HOME: '/home/me' },
    );
    const api = loaded.spec.services.api!;
    expect(loaded.spec.name).toBe('demo');
    expect(api.command).toEqual(['node', '/srv/app/server.js']);
    expect(api.port).toBe(8000);
    expect(api.env).toMatchObject({ DB_URL: 'sqlite:///home/me/data.db', PRICE: '$5' });
  });

  it('also reads the stack-wide env files, the environment winning', () => {
    writeFile('vars.env', 'API_PORT=7000\nTAG=from-file\n');
    const api = load('env_file: vars.env\nservices: { api: { command: "run ${TAG}", port: "${API_PORT}" } }', { TAG: 'from-env' }).spec.services.api!;
    expect(api.port).toBe(7000);
    expect(api.command).toEqual(['run', 'from-env']);
  });

  it('resolves nested defaults as compose does (the issue example)', () => {
    const text = 'services:\n  db:\n    command: x\n    env:\n      POSTGRES_DB: "${POSTGRES_DB:-${POSTGRES_USER}}"\n      CACHE_DIR: "${CACHE_DIR:-${BASE_DIR}/cache}"\n';
    const { env } = load(text, { POSTGRES_USER: 'appuser', BASE_DIR: '/srv/app' }).spec.services.db!;
    expect(env).toMatchObject({ POSTGRES_DB: 'appuser', CACHE_DIR: '/srv/app/cache' });
  });

  it('reports an unsupported form at its field, naming the form', () => {
    expect(problemsOf('services: { api: { command: x, env: { A: "${A/x/y}" } } }')).toEqual([
      'services.api.env.A: unsupported interpolation "${A/x/y}" (the supported forms are ${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, $$ for a literal $)',
    ]);
  });

  it('interpolates env file values with the caller environment and the stack env files', () => {
    writeFile('interp/stack.env', 'BASE=/srv\n');
    writeFile('interp/api.env', 'DIR="${BASE}/${WHO:-nobody}"\nRAW=\'${BASE}\'\n');
    const api = parseStack(
      'env_file: interp/stack.env\nservices: { api: { command: x, env_file: interp/api.env } }',
      { file, env: { WHO: 'me' } },
    ).spec.services.api!;
    expect(api.env).toMatchObject({ BASE: '/srv', DIR: '/srv/me', RAW: '${BASE}' });
  });

  it('reports an unset variable once, at its path', () => {
    expect(problemsOf('services: { api: { command: "${APP}", port: "${PORT}" } }')).toEqual([
      'services.api.command: variable "APP" is not set (set it, or give a default: ${APP:-default}, or ${APP:-} for empty)',
      'services.api.port: variable "PORT" is not set (set it, or give a default: ${PORT:-default}, or ${PORT:-} for empty)',
    ]);
  });
});

describe('keys and types', () => {
  it('reports unknown keys at every level, with a suggestion when one is close', () => {
    expect(
      problemsOfObject({
        verison: 3,
        service: {},
        services: { api: { comand: 'x', command: 'x', health: { http: { url: 'http://h/', staus: 200 } } } },
      }),
    ).toEqual([
      'verison: unknown key "verison"',
      'service: unknown key "service" (did you mean "services"?)',
      'services.api.health.http.staus: unknown key "staus" (did you mean "status"?)',
      'services.api.comand: unknown key "comand" (did you mean "command"?)',
    ]);
  });

  it('names what was expected and what was given', () => {
    expect(problemsOfService({ command: {}, shell: 'yes', cwd: [], env_file: {} })).toEqual([
      'services.api.command: expected a string or a list, got a map',
      'services.api.shell: expected true or false, got string "yes"',
      'services.api.cwd: expected a string, got a list',
      'services.api.env_file: expected a string or a list, got a map',
    ]);
    expect(problemsOfService({ command: ['node', []] })).toEqual(['services.api.command[1]: expected a string, got a list']);
    expect(problemsOfObject({ services: [] })).toEqual(['services: expected a map, got a list']);
  });

  it('reports an invalid stack or service name', () => {
    expect(problemsOfObject({ name: 'My Stack', services: { 'my api': { command: 'x' } } })).toEqual([
      'name: invalid stack name "My Stack" (use lower-case letters, digits, "_" and "-", starting with a letter or digit)',
      'services.my api: invalid service name "my api" (use letters, digits, ".", "_" and "-", starting with a letter or digit)',
    ]);
  });

  it('reports a file without services', () => {
    const none = 'services: no services declared (add one, e.g. services: { api: { command: [node, server.js] } })';
    expect(problemsOf('name: x')).toEqual([none]);
    expect(problemsOf('')).toEqual([none]);
    expect(problemsOf('services: {}')).toEqual([none]);
  });

  it('reports a file that is not a map', () => {
    expect(problemsOf('- a\n- b\n')).toEqual([`${file}: expected a map, got a list`]);
  });

  it('reports every problem of every service at once', () => {
    expect(
      problemsOfObject({
        name: 'BAD',
        services: {
          a: { command: 'x', port: 'eighty' },
          b: { depends_on: ['c'] },
          c: { command: 'x', depends_on: ['b'], health: { interval: 'soon' } },
          d: { command: 'x', depends_on: ['e'] },
        },
      }),
    ).toEqual([
      'name: invalid stack name "BAD" (use lower-case letters, digits, "_" and "-", starting with a letter or digit)',
      'services.a.port: expected a number, got string "eighty"',
      'services.b.command: missing (give the program to run, e.g. command: [node, server.js])',
      'services.c.health.interval: invalid duration "soon" (use e.g. 250ms, 2s, 1m, or a number of milliseconds)',
      'services.d.depends_on.e: unknown service "e"',
    ]);
  });
});

describe('YAML syntax errors', () => {
  it('name the file, the line and the column', () => {
    expect(problemsOf('services:\n  api:\n    command: x\n   port: 1\n')).toEqual([
      `${file}: YAML syntax error at line 4, column 1: All mapping items must start at the same column (fix the YAML)`,
    ]);
    expect(problemsOf('services:\n  api: { command: x, port: 80 ]\n')).toEqual([
      `${file}: YAML syntax error at line 2, column 31: Flow map in block collection must be sufficiently indented and end with a } (fix the YAML)`,
    ]);
  });

  it('report duplicate keys', () => {
    expect(problemsOf('services:\n  api: { command: x }\n  api: { command: y }\n')).toEqual([
      `${file}: YAML syntax error at line 3, column 3: Map keys must be unique (fix the YAML)`,
    ]);
  });
});
