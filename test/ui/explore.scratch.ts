import { afterAll, beforeAll, test } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { resolveTemporalCli } from '../../src/temporal/cli-binary.js';
import { findFreePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { fixtureStack, startWorld, type TestWorld } from '../support/harness.js';

let server: DevServer; let world: TestWorld; let browser: Browser;
const out = path.resolve('test-output/ui/explore');
beforeAll(async () => {
  await mkdir(out, { recursive: true });
  const cliPath = await resolveTemporalCli();
  server = await startDevServer({ cliPath, port: await findFreePort(), uiPort: await findFreePort(), logFile: path.join(out, 'server.log'), detached: false });
  const saved = process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS;
  process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS = server.address;
  try { world = await startWorld(); } finally { process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS = saved; }
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}, 120000);
afterAll(async () => { await browser?.close(); await world?.stop(); await server?.stop(); });

test('explore', async () => {
  const { spec } = await fixtureStack(world, {
    data: { readyDelayMs: 200 },
    api: { dependsOn: { data: 'healthy' } },
    flaky: { port: false, env: { EXIT_AFTER_MS: '300', EXIT_CODE: '1' } },
  });
  await world.stacks.start(spec, []);
  await watchUntilSettled(world.stacks, spec.name, ['data', 'api'], () => undefined);
  await new Promise((r) => setTimeout(r, 4000));
  const desc = await world.stacks.handle(spec.name).describe();
  const ui = server.uiUrl!;
  console.log('UI', ui, spec.name, desc.runId);
  const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
  const shots: [string, string][] = [
    ['list', `${ui}/namespaces/default/workflows`],
    ['list-query', `${ui}/namespaces/default/workflows?query=${encodeURIComponent(`StackName="${spec.name}"`)}`],
    ['stack-history', `${ui}/namespaces/default/workflows/stack-${spec.name}/${desc.runId}/history`],
    ['stack-relationships', `${ui}/namespaces/default/workflows/stack-${spec.name}/${desc.runId}/relationships`],
    ['stack-metadata', `${ui}/namespaces/default/workflows/stack-${spec.name}/${desc.runId}/metadata`],
  ];
  for (const svc of ['data', 'flaky']) {
    const d = await world.stacks.client.workflow.getHandle(`stack-${spec.name}.${svc}`).describe();
    shots.push([`${svc}-history`, `${ui}/namespaces/default/workflows/stack-${spec.name}.${svc}/${d.runId}/history`]);
    shots.push([`${svc}-pending`, `${ui}/namespaces/default/workflows/stack-${spec.name}.${svc}/${d.runId}/pending-activities`]);
    shots.push([`${svc}-metadata`, `${ui}/namespaces/default/workflows/stack-${spec.name}.${svc}/${d.runId}/metadata`]);
  }
  for (const [n, url] of shots) {
    await page.goto(url);
    await page.waitForTimeout(3000);
    await page.screenshot({ path: path.join(out, `${n}.png`), fullPage: true });
    console.log(n, page.url());
  }
  await world.stacks.shutdown(spec.name, 'test');
}, 120000);
