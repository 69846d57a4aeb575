// `status` reads a stack two ways (issue 11, items 11 and 12): through the Temporal SDK, and over
// the server's HTTP API, which needs no SDK and so starts fast. Both are run here through the CLI
// against the jest run's dev server; the HTTP runs get a TEMPORAL_ADDRESS where nothing listens, so
// they can only have answered over HTTP. `status <service>` shows a service's whole record.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { StackStatus } from '../../src/model.js';
import { findFreePort } from '../../src/temporal/dev-server.js';
import { processStartTime } from '../../src/process/terminate.js';
import { stackProcesses } from '../support/harness.js';
import { crashyStack } from '../support/cli-stack.js';
import { connectTestClient, testTemporalHttpAddress } from '../support/temporal-server.js';
import { HttpReads } from '../../src/temporal/http-reads.js';
import { StackReads } from '../../src/stack-reads.js';
import { SdkReads } from '../../src/client.js';

const CLI = resolve('bin/stackflow.js');
const RECORDER = resolve('test/support/record-imports.mjs');
let dir: string;
let file: string;
let name: string;
let env: Record<string, string>;
let httpEnv: Record<string, string>;

type Path = 'sdk' | 'http';
function stackflow(args: string[], path: Path, extra: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args, '-c', file], { reject: false, env: { ...(path === 'http' ? httpEnv : env), ...extra } });
}

beforeAll(async () => {
  // crashy gives up after one restart (its workflow then ends); its error is several lines long.
  ({ dir, file, name, env } = await crashyStack('status', 1));
  // Nothing listens on that gRPC port: an answer can only have come over the HTTP API.
  httpEnv = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${await findFreePort()}`, TEMPORAL_HTTP_ADDRESS: testTemporalHttpAddress() };
  const up = await stackflow(['up', '-d'], 'sdk');
  expect(up.stdout).toContain('crashy');
});

afterAll(async () => {
  await stackflow(['down'], 'sdk');
  for (const pid of await stackProcesses(name)) process.kill(pid, 'SIGKILL');
});

/** What does not change between two reads a moment apart (the samples and uptime do). */
const stable = (status: StackStatus) => ({
  ...status,
  services: Object.fromEntries(
    Object.entries(status.services).map(([n, s]) => [n, { ...s, cpuPercent: typeof s.cpuPercent, memoryBytes: typeof s.memoryBytes, sampledAt: typeof s.sampledAt }]),
  ),
});

describe('status through the HTTP API and through the SDK', () => {
  test('both answer the same status, services in the same order, with the host-sampled memory', async () => {
    const [sdk, http] = [await stackflow(['status', '--json'], 'sdk'), await stackflow(['status', '--json'], 'http')];
    expect([sdk.exitCode, http.exitCode]).toEqual([0, 0]);
    const [fromSdk, fromHttp] = [JSON.parse(sdk.stdout) as StackStatus, JSON.parse(http.stdout) as StackStatus];
    expect(sdk.stdout.split('\n').filter((l) => !/cpuPercent|memoryBytes|sampledAt/.test(l))).toEqual(
      http.stdout.split('\n').filter((l) => !/cpuPercent|memoryBytes|sampledAt/.test(l)),
    );
    expect(stable(fromHttp)).toEqual(stable(fromSdk));
    expect(fromHttp.services.db).toMatchObject({ state: 'healthy', memoryBytes: expect.any(Number) });
    expect(fromHttp.services.crashy).toMatchObject({ state: 'failed', restarts: 1 });

    // The table too (its UPTIME, CPU and MEM columns move between two reads).
    const rows = async (path: Path) => (await stackflow(['status'], path)).stdout.split('\n').map((row) => row.split(/ {2,}/).slice(0, 6).join(' '));
    expect(await rows('http')).toEqual(await rows('sdk'));
  });

  test('both list the stacks running on the task queue (what keeps a home\'s worker from being stopped)', async () => {
    const http = new HttpReads({ address: testTemporalHttpAddress(), namespace: 'default', keyring: null });
    const { client, connection } = await connectTestClient();
    try {
      for (const reads of [http, new SdkReads(client)]) {
        expect(await new StackReads(reads, env.STACKFLOW_TASK_QUEUE!).runningStacks()).toEqual([name]);
        expect(await new StackReads(reads, `${env.STACKFLOW_TASK_QUEUE}-other`).runningStacks()).toEqual([]);
      }
    } finally {
      http.close();
      await connection.close();
    }
  });

  test('`status <service>` prints its whole record: the full error, the log file and its last lines', async () => {
    for (const path of ['http', 'sdk'] as const) {
      const detail = await stackflow(['ps', 'crashy'], path);
      expect({ path, exitCode: detail.exitCode, stderr: detail.stderr }).toEqual({ path, exitCode: 0, stderr: '' });
      const { services } = JSON.parse((await stackflow(['status', '--json'], path)).stdout) as StackStatus;
      const text = detail.stdout;
      expect(text).toMatch(new RegExp(`^stack ${name}: `));
      expect(text).toMatch(/^crashy: failed$/m);
      expect(text).not.toMatch(/^db:/m);
      expect(text).toMatch(/^ {2}restarts {2}1 after a crash, 0 manual/m);
      expect(text).toMatch(/^ {2}last exit exited \(code 1\) at /m);
      // Every line of the error, in order, the later ones indented under the first.
      const errorLines = services.crashy!.error!.trimEnd().split('\n');
      expect(errorLines.length).toBeGreaterThan(1);
      expect(text).toContain(`  error     ${errorLines[0]}\n${errorLines.slice(1).map((l) => `            ${l}`).join('\n')}`);
      const log = join(env.STACKFLOW_HOME!, name, 'logs', 'crashy.log');
      expect(text).toContain(`  log       ${log}\n`);
      const lastLine = (await readFile(log, 'utf8')).trimEnd().split('\n').at(-1)!;
      expect(text.trimEnd().split('\n').at(-1)).toBe(`    ${lastLine}`);
    }

    // --json: those services' objects, in the stack's order, nothing else.
    const all = JSON.parse((await stackflow(['status', '--json'], 'http')).stdout) as StackStatus;
    const json = JSON.parse((await stackflow(['status', 'db', 'crashy', '--json'], 'http')).stdout) as StackStatus;
    expect(Object.keys(json.services)).toEqual(Object.keys(all.services).filter((s) => s !== 'api'));
    expect(json.services.crashy!.error).toBe(all.services.crashy!.error);
  });

  test('an unknown service is a usage error naming the closest one (exit 2)', async () => {
    for (const path of ['http', 'sdk'] as const) {
      const typo = await stackflow(['status', 'crashi', 'db'], path);
      expect({ path, exitCode: typo.exitCode, stdout: typo.stdout }).toEqual({ path, exitCode: 2, stdout: '' });
      expect(typo.stderr).toMatch(new RegExp(`^unknown service "crashi" \\(did you mean "crashy"\\?\\); stack ${name} has: (crashy|db|api), (crashy|db|api), (crashy|db|api)$`));
    }
  });

  test('over HTTP, status loads no Temporal SDK, yaml or zod (-p: the stack file is not read)', async () => {
    const record = join(dir, 'imports.txt');
    const result = await execa(process.execPath, ['--import', RECORDER, CLI, 'status', '-p', name], {
      reject: false,
      env: { ...httpEnv, RECORD_IMPORTS_FILE: record },
    });
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(result.stdout).toMatch(/^db +healthy /m);
    const modules = (await readFile(record, 'utf8')).trim().split('\n');
    expect(modules.filter((url) => /node_modules\/(@temporalio\/(client|common|proto|worker|workflow)|yaml|zod|@grpc)\//.test(url))).toEqual([]);
  });

  test("the embedded server's HTTP address, recorded in the home, is used without any variable", async () => {
    // A record as `up` writes it for the embedded server; this very process stands in for the
    // server's (the record is trusted only while that pid runs with that start time).
    const record = join(env.STACKFLOW_HOME!, 'temporal.pid');
    const startTime = await processStartTime(process.pid);
    await writeFile(record, JSON.stringify({ pid: process.pid, startTime, address: '127.0.0.1:7233', uiUrl: null, httpAddress: testTemporalHttpAddress() }));
    try {
      // No TEMPORAL_ADDRESS: the default address, where the test's server is not; only the record leads to it.
      const status = await stackflow(['status', '--json'], 'sdk', { TEMPORAL_ADDRESS: '' });
      expect({ exitCode: status.exitCode, stderr: status.stderr }).toEqual({ exitCode: 0, stderr: '' });
      expect((JSON.parse(status.stdout) as StackStatus).services.db).toMatchObject({ state: 'healthy' });
    } finally {
      await rm(record, { force: true });
    }
  });

  test('with no worker polling, both say so at once (exit 1); once drained, both say stopped (exit 0)', async () => {
    const pid = Number((await readFile(join(env.STACKFLOW_HOME!, 'worker.pid'), 'utf8')).trim().match(/\d+/)![0]);
    process.kill(pid, 'SIGKILL');
    for (const path of ['http', 'sdk'] as const) {
      const status = await stackflow(['status'], path);
      expect({ path, exitCode: status.exitCode }).toEqual({ path, exitCode: 1 });
      expect(status.stderr).toContain(`stack ${name}: no worker is running on task queue ${env.STACKFLOW_TASK_QUEUE}`);
      expect(status.stderr).toMatch(new RegExp(`the history knows: workflow stack-${name} running since .*, service workflows: api, db`));
    }
    expect((await stackflow(['down'], 'sdk')).exitCode).toBe(0);
    for (const path of ['http', 'sdk'] as const) {
      const status = await stackflow(['status'], path);
      expect({ path, exitCode: status.exitCode, stdout: status.stdout }).toEqual({ path, exitCode: 0, stdout: `stack ${name}: stopped` });
    }
  });
});
