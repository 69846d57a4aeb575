import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadStack, StackFileError } from '../../src/config/index.js';

const fixtures = resolve('test/fixtures/stacks');

async function rejection(promise: Promise<unknown>): Promise<StackFileError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof StackFileError)) throw new Error(`expected a StackFileError, got ${String(error)}`);
  return error;
}

describe('loadStack', () => {
  const demo = join(fixtures, 'demo/stack.yaml');

  it('loads the SPEC example stack', async () => {
    const loaded = await loadStack(demo, { env: { HOME: '/home/me' } });
    expect(loaded.spec.name).toBe('demo');
    expect(loaded.spec.file).toBe(demo);
    expect(loaded.spec.home).toBe(join(fixtures, 'demo/.stackflow'));
    expect(Object.keys(loaded.spec.services)).toEqual(['data', 'migrate', 'ai']);
    expect(loaded.disabled).toEqual(['docs']);
    expect(loaded.levels).toEqual([['data', 'migrate'], ['ai']]);

    const { data, migrate, ai } = loaded.spec.services;
    expect(data!.cwd).toBe(join(fixtures, 'demo/services'));
    expect(data!.env).toMatchObject({ REGION: 'eu-west', DATA_DIR: '/var/data', LOG_LEVEL: 'info', DB_URL: 'sqlite:///home/me/data.db' });
    expect(data!.liveness).toEqual({
      probe: { kind: 'http', url: 'http://127.0.0.1:8001/health', status: 200 },
      intervalMs: 5000,
      timeoutMs: 2000,
      startPeriodMs: 0,
      failureThreshold: 3,
    });
    expect(migrate!.command).toEqual(['node', 'migrate.js']);
    expect(migrate!.restart.policy).toBe('never');
    expect(ai!.dependsOn).toEqual({ data: { condition: 'healthy' }, migrate: { condition: 'completed_successfully' } });
    expect(ai!.env).toMatchObject({ DATA_URL: 'http://127.0.0.1:8001', DATA_PORT: '8001', PORT: '8002', STACKFLOW_STACK: 'demo' });
  });

  it('takes STACKFLOW_HOME from the environment, relative to the working directory', async () => {
    expect((await loadStack(demo, { env: { HOME: '/h', STACKFLOW_HOME: 'tmp/state' } })).spec.home).toBe(resolve('tmp/state'));
    expect((await loadStack(demo, { env: { HOME: '/h' }, home: '/var/stackflow' })).spec.home).toBe('/var/stackflow');
  });

  it('reports every problem of a broken file, one line each', async () => {
    const error = await rejection(loadStack(join(fixtures, 'broken.yaml'), { env: {} }));
    expect(error.message.split('\n')).toEqual([
      'services.api.comand: unknown key "comand" (did you mean "command"?)',
      'services.data.health.interval: invalid duration "5 sec" (use e.g. 250ms, 2s, 1m, or a number of milliseconds)',
    ]);
  });

  it('reports cross-service problems once each service is valid on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackflow-load-'));
    const file = join(dir, 'stack.yaml');
    writeFileSync(file, 'services:\n  api: { command: x, port: 8000, depends_on: { dta: healthy } }\n  data: { command: x, port: 8000 }\n');
    const error = await rejection(loadStack(file, { env: {} }));
    expect(error.message.split('\n')).toEqual([
      'services.api.depends_on.dta: unknown service "dta" (did you mean "data"?)',
      'services.data.port: port 8000 is also used by "api" (give each service its own port)',
    ]);
  });

  it('reports a missing file under the name it was given', async () => {
    const error = await rejection(loadStack('no/such/stack.yaml'));
    expect(error.problems).toEqual([{ path: 'no/such/stack.yaml', message: 'stack file not found (create it, or pass another with -c <file>)' }]);
  });

  it('reports a YAML syntax error with its line and column', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stackflow-load-')), 'stack.yaml');
    writeFileSync(file, 'name: x\nservices:\n  api: { command: x, port: 80 ]\n');
    const error = await rejection(loadStack(file, { env: {} }));
    expect(error.problems).toEqual([
      { path: file, message: 'YAML syntax error at line 3, column 31: Flow map in block collection must be sufficiently indented and end with a } (fix the YAML)' },
    ]);
  });

  it('uses the process environment by default', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stackflow-load-')), 'stack.yaml');
    writeFileSync(file, 'services: { api: { command: "${STACKFLOW_TEST_PROGRAM}" } }');
    process.env.STACKFLOW_TEST_PROGRAM = 'from-process-env';
    try {
      expect((await loadStack(file)).spec.services.api!.command).toEqual(['from-process-env']);
    } finally {
      delete process.env.STACKFLOW_TEST_PROGRAM;
    }
  });
});
