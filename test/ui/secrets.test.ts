// Secrets never reach Temporal in clear (issue 12), tried as a user would: a password in an env_file
// and a token from the caller's environment, `up -d`, a restart and `down` through the CLI on a dev
// server of our own (SQLite file, Web UI pointed at the worker's codec endpoint). The secrets must
// occur nowhere: not in `temporal workflow show -o json` (raw, or decoded through the endpoint), not
// in the SQLite bytes, not in `status --json`, not on the rendered UI pages, not in stackflow's logs;
// while the service receives both (it logs a hash of them) and the UI still tells the story.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';
import YAML from 'yaml';
import { keyId } from '../../src/codec/index.js';
import { resolveTemporalCli } from '../../src/temporal/cli-binary.js';
import { findFreePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { FIXTURE_SERVICE, stackProcesses } from '../support/harness.js';
import { launchChromium, markdownPanel, requireChromium, waitForHttp, waitWithReload } from './browser.js';

const CLI = path.resolve('bin/stackflow.js');
const OUTPUT_DIR = path.resolve('test-output/ui');
/** 24 random letters and digits: no chance of occurring anywhere by accident. */
const secret = () => randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 24);
const DB_PASSWORD = secret();
const TOKEN = secret();
const SECRETS = { DB_PASSWORD, TOKEN };

let server: DevServer | undefined;
let browser: Browser | undefined;
let dir: string;
let stackFile: string;
let env: Record<string, string>;
let cliPath: string;
const stack = `secrets${randomBytes(3).toString('hex')}`;
const runKey = () => process.env.STACKFLOW_ENCRYPTION_KEY as string;

function stackflow(args: string[], extra: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, ...args, '-c', stackFile], { reject: false, env: { ...env, ...extra } });
}

/** How often each secret occurs in `text`. */
function occurrences(text: string | Buffer): Record<string, number> {
  const haystack = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const count = (needle: string) => {
    let n = 0;
    for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) n++;
    return n;
  };
  return Object.fromEntries(Object.entries(SECRETS).map(([name, value]) => [name, count(value)]));
}
const NONE = { DB_PASSWORD: 0, TOKEN: 0 };

beforeAll(async () => {
  requireChromium();
  await mkdir(OUTPUT_DIR, { recursive: true });
  dir = await mkdtemp(path.join(tmpdir(), 'stackflow-secrets-'));
  cliPath = await resolveTemporalCli({ log: (line) => console.log(`[temporal] ${line}`) });
  const ports = new Set<number>();
  const freePort = async () => {
    let port = await findFreePort();
    while (ports.has(port)) port = await findFreePort();
    ports.add(port);
    return port;
  };
  const [port, uiPort, codecPort, appPort, webPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  server = await startDevServer({
    cliPath,
    port,
    uiPort,
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal.log'),
    detached: false,
    codecEndpoint: `http://127.0.0.1:${codecPort}`,
  });

  await writeFile(path.join(dir, 'app.env'), `DB_PASSWORD=${DB_PASSWORD}\n`);
  stackFile = path.join(dir, 'stack.yaml');
  const health = (p: number) => ({ http: { url: `http://127.0.0.1:${p}/health` }, interval: '200ms' });
  await writeFile(
    stackFile,
    YAML.stringify({
      name: stack,
      env: { LOG_LEVEL: 'info' },
      services: {
        app: {
          command: ['node', FIXTURE_SERVICE],
          port: appPort,
          env_file: ['app.env'],
          env: { API_TOKEN: '${TOKEN}', HASH_ENV: 'DB_PASSWORD,API_TOKEN' },
          health: health(appPort),
        },
        web: { command: ['node', FIXTURE_SERVICE], port: webPort, depends_on: { app: 'healthy' }, health: health(webPort) },
      },
    }),
  );
  env = {
    TEMPORAL_ADDRESS: server.address,
    STACKFLOW_HOME: path.join(dir, 'home'),
    STACKFLOW_TASK_QUEUE: `secrets-${randomBytes(4).toString('hex')}`,
    STACKFLOW_CODEC_ENDPOINT: String(codecPort),
    STACKFLOW_ENCRYPTION_KEY: runKey(),
    TOKEN,
    NO_COLOR: '1',
  };
  browser = await launchChromium();
  await waitForHttp(`${server.uiUrl}/namespaces/default/workflows`, 30_000);
}, 120_000);

afterAll(async () => {
  try {
    if (stackFile) await stackflow(['down']);
    for (const pid of await stackProcesses(stack)) process.kill(pid, 'SIGKILL');
  } finally {
    await browser?.close();
    await server?.stop();
  }
}, 60_000);

/** Every text of the page: the document and each frame (markdown panels render in iframes). */
async function pageText(page: Page): Promise<string> {
  const parts = await Promise.all(page.frames().map((frame) => frame.content().catch(() => '')));
  return [await page.content(), ...parts].join('\n');
}

async function workflowIds(): Promise<{ workflowId: string; runId: string }[]> {
  const listed = await execa(cliPath, ['workflow', 'list', '--address', server!.address, '--query', `StackName = "${stack}"`, '-o', 'json']);
  const rows = JSON.parse(listed.stdout) as { execution: { workflowId: string; runId: string } }[];
  return rows.map((row) => row.execution);
}

/**
 * `temporal workflow show -o json` of every workflow of the stack, each payload's base64 `data`
 * followed by its decoded text: a payload in clear shows its JSON only base64-encoded.
 */
async function shownHistories(extraArgs: string[] = []): Promise<string> {
  const shown = [];
  for (const { workflowId, runId } of await workflowIds()) {
    const out = await execa(cliPath, ['workflow', 'show', '--address', server!.address, '-w', workflowId, '-r', runId, '-o', 'json', ...extraArgs]);
    shown.push(out.stdout.replace(/"data": "([A-Za-z0-9+/=]*)"/g, (all, b64: string) => `${all} ${Buffer.from(b64, 'base64').toString('utf8')}`));
  }
  return shown.join('\n');
}

describe('secrets of a stack', () => {
  test('occur nowhere Temporal stores or a person sees, while the service receives them and the UI tells the story', async () => {
    const up = await stackflow(['up', '-d']);
    expect({ code: up.exitCode, stderr: up.stderr }).toMatchObject({ code: 0 });
    expect(occurrences(up.stdout + up.stderr)).toEqual(NONE);

    // The service got both values: it logs their hash.
    const hash = createHash('sha256').update(`DB_PASSWORD=${DB_PASSWORD}\nAPI_TOKEN=${TOKEN}`).digest('hex');
    const appLog = path.join(env.STACKFLOW_HOME, stack, 'logs', 'app.log');
    expect(await readFile(appLog, 'utf8')).toContain(hash);

    const restart = await stackflow(['restart', 'app']);
    expect(restart.exitCode).toBe(0);
    const status = await stackflow(['status', '--json']);
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(status.stdout).services.app.state).toBe('healthy');
    expect(occurrences(status.stdout + restart.stdout + restart.stderr)).toEqual(NONE);

    // Decoded through the worker's codec endpoint: the story reads, the secrets are `***`.
    const codecEndpoint = `http://127.0.0.1:${env.STACKFLOW_CODEC_ENDPOINT}`;
    const decoded = await shownHistories(['--codec-endpoint', codecEndpoint]);
    expect(decoded).toContain(`spawn app: node ${FIXTURE_SERVICE}`);
    expect(decoded).toContain('"DB_PASSWORD":"***"');
    expect(decoded).toContain('"API_TOKEN":"***"');
    expect(decoded).toContain('"LOG_LEVEL":"info"');
    const decodedCounts = occurrences(decoded);

    // The Web UI, through the same endpoint: the service page's story and details, no secret.
    const pagesText = await uiPages();
    const uiCounts = occurrences(pagesText);

    const down = await stackflow(['down']);
    expect(down.exitCode).toBe(0);
    const raw = await shownHistories();
    const sqlite = Buffer.concat(
      await Promise.all((await readdir(dir)).filter((f) => f.startsWith('temporal.db')).map((f) => readFile(path.join(dir, f)))),
    );
    const logs = (await readFile(path.join(env.STACKFLOW_HOME, 'worker.log'), 'utf8')) + up.stdout + down.stdout + down.stderr;
    const counts = {
      'temporal workflow show -o json': occurrences(raw),
      'temporal workflow show --codec-endpoint': decodedCounts,
      'SQLite file bytes': occurrences(sqlite),
      'status --json': occurrences(status.stdout),
      'Web UI pages': uiCounts,
      "stackflow's output and worker.log": occurrences(logs),
    };
    console.log(`Occurrences of the two secrets (${Object.keys(await workflowIds()).length} workflows):\n${JSON.stringify(counts, null, 2)}`);
    // The checks can fail: the histories do hold the workflows' inputs (encrypted).
    expect(raw).toContain(`"encoding": "${Buffer.from('binary/encrypted').toString('base64')}"`);
    expect(sqlite.length).toBeGreaterThan(0);
    expect(counts).toEqual(Object.fromEntries(Object.keys(counts).map((k) => [k, NONE])));
  }, 240_000);

  test('a wrong key is refused with the key id the stack needs, exit 1, and stops nothing', async () => {
    const up = await stackflow(['up', '-d']);
    expect(up.exitCode).toBe(0);
    const before = JSON.parse((await stackflow(['status', '--json'])).stdout);
    const wrong = { STACKFLOW_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const needed = keyId(Buffer.from(runKey(), 'base64'));
    for (const args of [['status', '--json'], ['restart', 'app'], ['down']]) {
      const attempt = await stackflow(args, wrong);
      expect({ args, code: attempt.exitCode }).toEqual({ args, code: 1 });
      expect(attempt.stderr).toContain(`encrypted with key ${needed}`);
      expect(attempt.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const after = JSON.parse((await stackflow(['status', '--json'])).stdout);
    expect(after.state).toBe('running');
    for (const svc of ['app', 'web']) {
      expect(after.services[svc]).toMatchObject({ state: 'healthy', pid: before.services[svc].pid, restarts: before.services[svc].restarts });
    }
    expect((await stackflow(['down'])).exitCode).toBe(0);
  }, 120_000);
});

/** The stack and `app` pages of the Web UI, as text; asserts they show the decoded story. */
async function uiPages(): Promise<string> {
  const page = await browser!.newPage({ viewport: { width: 1600, height: 1200 } });
  page.setDefaultTimeout(15_000);
  const texts: string[] = [];
  const ui = server!.uiUrl!;
  try {
    const stackId = `stack-${stack}`;
    await page.goto(`${ui}/namespaces/default/workflows/${stackId}`);
    // The Input panel, decoded through the endpoint: the secret names with `***`.
    const redactedInput = page.getByText('"DB_PASSWORD": "***"').first();
    await waitWithReload(page, redactedInput);
    await page.getByText('"API_TOKEN": "***"').first().waitFor();
    texts.push(await pageText(page));
    expect(texts.at(-1)).toContain(`app: node ${FIXTURE_SERVICE}`);
    await page.locator('#user-metadata-tab').click();
    await markdownPanel(page, 'Summary').getByText(`stack ${stack}: 2 services`).waitFor();
    texts.push(await pageText(page));

    await page.goto(`${ui}/namespaces/default/workflows/${stackId}.app`);
    // Here the env lies below the Input panel's fold: present, not visible.
    await redactedInput.waitFor({ state: 'attached' });
    await page.getByText(`spawn app: node ${FIXTURE_SERVICE}`).first().waitFor({ state: 'attached' });
    texts.push(await pageText(page));
    await page.locator('#user-metadata-tab').click();
    await markdownPanel(page, 'Details').getByText('DB_PASSWORD=***').waitFor();
    texts.push(await pageText(page));
    expect(texts.at(-1)).toContain('API_TOKEN=***');
    expect(texts.at(-1)).toContain('LOG_LEVEL=info');
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'secrets-service-user-metadata.png') });
    // The stack page's details, decoded: env names are shown, secret values are not.
    await page.goto(`${ui}/namespaces/default/workflows/${stackId}`);
    await page.locator('#user-metadata-tab').click();
    await markdownPanel(page, 'Summary').getByText(`stack ${stack}: 2 services`).waitFor();
    texts.push(await pageText(page));
  } catch (err) {
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'secrets-failure.png') }).catch(() => undefined);
    throw err;
  } finally {
    await page.close();
  }
  return texts.join('\n');
}
