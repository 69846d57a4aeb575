// The deployment examples users copy (examples/deploy/) must stay loadable as they are.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadTemporalConfig } from '../../src/temporal/connection.js';

const DEPLOY = path.resolve('examples/deploy');

describe('examples/deploy', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    // The example's certificate paths point into a folder with stand-in files (envconfig reads them).
    dir = await mkdtemp(path.join(tmpdir(), 'stackflow-deploy-'));
    for (const name of ['ca.pem', 'worker.pem', 'worker.key']) await writeFile(path.join(dir, name), `stand-in ${name}\n`);
    const example = await readFile(path.join(DEPLOY, 'temporal.toml.example'), 'utf8');
    file = path.join(dir, 'temporal.toml');
    await writeFile(file, example.replaceAll('/etc/stackflow/tls/', `${dir}/`));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('each profile of the example client config file loads through @temporalio/envconfig', () => {
    expect(loadTemporalConfig({ env: { TEMPORAL_CONFIG_FILE: file } })).toMatchObject({
      address: '127.0.0.1:7233',
      namespace: 'default',
    });
    const prod = loadTemporalConfig({ env: { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' } });
    expect(prod).toMatchObject({ address: 'temporal.internal.example:7233', namespace: 'stackflow' });
    expect(prod.connectionOptions.tls).toMatchObject({
      serverRootCACertificate: Buffer.from('stand-in ca.pem\n'),
      clientCertPair: { crt: Buffer.from('stand-in worker.pem\n'), key: Buffer.from('stand-in worker.key\n') },
    });
    const cloud = loadTemporalConfig({ env: { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' } });
    expect(cloud.connectionOptions.apiKey).toBe('paste-or-use-TEMPORAL_API_KEY');
    expect(cloud.connectionOptions.tls).toBeTruthy();
  });

  test('the systemd unit runs the worker for the instance host and leaves the services running on stop', async () => {
    const unit = await readFile(path.join(DEPLOY, 'stackflow-worker@.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=.* worker --host %i$/m);
    expect(unit).toMatch(/^KillMode=process$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/stackflow\/worker\.env$/m);
  });
});
