// The Temporal Web UI tells a stack's startup story (issue 4, item 2): a real 3-service stack on a
// dev server of our own with its UI, looked at in headless Debian Chromium through playwright-core.
// Payloads are encrypted (issue 12): the UI decodes them through the worker's codec endpoint.
// jest's global server is headless, so this file starts its own; screenshots go to test-output/ui/.
//
// What UI 2.42.1 (bundled in Temporal CLI 1.5.1) shows, and where this test looks for it:
//  - list page: StackName="<name>" filters; the list has no summary column (staticSummary is not listed).
//  - workflow History tab: the timeline and the event table show activity types with their summaries,
//    the stack's staticSummary on "Workflow Execution Started" and each child's staticSummary on
//    "Start Child Workflow Execution Initiated" (child workflow ids are not shown there).
//  - Relationships tab: the child workflow ids, as links to their pages.
//  - User Metadata tab: Summary (staticSummary), Details (staticDetails, markdown), Current Details
//    (setCurrentDetails, markdown; read through a query, so it needs a worker), and "Events with
//    Metadata" (activity, child workflow and timer summaries). Markdown renders inside iframes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { resolveTemporalCli } from '../../src/temporal/cli-binary.js';
import { findFreePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { fixtureStack, startWorld, type TestWorld } from '../support/harness.js';
import { pollUntil } from '../support/worker-process.js';
import { launchChromium, markdownPanel, requireChromium, waitForHttp, waitWithReload } from './browser.js';

const OUTPUT_DIR = path.resolve('test-output/ui');
const ACTIVITIES = ['spawnService', 'awaitHealthy', 'superviseService'];

let server: DevServer | undefined;
let world: TestWorld | undefined;
let browser: Browser | undefined;
let runningStack: string | undefined;

/** A dev server with the Web UI, and a worker + client on it (the harness reads the address from the env). */
beforeAll(async () => {
  requireChromium();
  await mkdir(OUTPUT_DIR, { recursive: true });
  const cliPath = await resolveTemporalCli({ log: (line) => console.log(`[temporal] ${line}`) });
  const port = await findFreePort();
  let uiPort = await findFreePort();
  while (uiPort === port) uiPort = await findFreePort();
  let codecPort = await findFreePort();
  while (codecPort === port || codecPort === uiPort) codecPort = await findFreePort();
  const logFile = path.join(OUTPUT_DIR, 'temporal-ui-server.log');
  await rm(logFile, { force: true });
  // Payloads are encrypted: the UI reads them through the worker's codec endpoint, as users' does.
  server = await startDevServer({ cliPath, port, uiPort, logFile, detached: false, codecEndpoint: `http://127.0.0.1:${codecPort}` });

  const globalAddress = process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS;
  process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS = server.address;
  try {
    world = await startWorld({}, { codecEndpointPort: codecPort });
  } finally {
    if (globalAddress === undefined) delete process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS;
    else process.env.STACKFLOW_TEST_TEMPORAL_ADDRESS = globalAddress;
  }
  browser = await launchChromium();
  await waitForHttp(`${server.uiUrl}/namespaces/default/workflows`, 30_000);
}, 120_000);

afterAll(async () => {
  try {
    if (world && runningStack) await world.stacks.shutdown(runningStack, 'ui test done');
  } finally {
    await browser?.close();
    await world?.stop();
    await server?.stop();
  }
}, 60_000);

describe('the Temporal Web UI', () => {
  test('lists a 3-service stack by StackName and shows its child workflows, activities and summaries', async () => {
    if (!world || !server?.uiUrl || !browser) throw new Error('beforeAll did not finish');
    const ui = server.uiUrl;
    const { spec } = await fixtureStack(world, {
      data: { readyDelayMs: 200 },
      api: { dependsOn: { data: 'healthy' } },
      gateway: { dependsOn: { api: 'healthy' } },
      // Exits 1 shortly after each start: gives up after its 2 restarts.
      crashy: { port: false, env: { EXIT_AFTER_MS: '300', EXIT_CODE: '1' } },
    });
    const name = spec.name;
    const stackId = `stack-${name}`;
    const services = Object.keys(spec.services);
    await world.stacks.start(spec, []);
    runningStack = name;
    await watchUntilSettled(world.stacks, name, services, () => undefined);
    const settled = await pollUntil('crashy to give up', async () => {
      const status = await world!.stacks.status(name);
      return status?.services.crashy.state === 'failed' ? status : undefined;
    }, { timeoutMs: 30_000 });
    expect(Object.fromEntries(services.map((s) => [s, settled.services[s].state]))).toEqual({
      data: 'healthy',
      api: 'healthy',
      gateway: 'healthy',
      crashy: 'failed',
    });
    const { runId } = await world.stacks.handle(name).describe();
    const data = spec.services.data;
    const probe = data.health.probe;
    if (probe.kind !== 'http') throw new Error(`expected the fixture's http probe, got ${probe.kind}`);
    const command = (svc: string) => spec.services[svc].command.join(' ');

    const page = await browser.newPage({ viewport: { width: 1600, height: 1200 } });
    page.setDefaultTimeout(15_000);
    const screenshots: string[] = [];
    const screenshot = async (file: string) => {
      const target = path.join(OUTPUT_DIR, file);
      await page.screenshot({ path: target });
      screenshots.push(target);
    };
    try {
      // The list, filtered by the StackName search attribute: another stack's name lists nothing...
      const listUrl = (query: string) => `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
      await page.goto(listUrl(`StackName="${name}-other"`));
      await page.getByRole('heading', { name: 'No Results' }).waitFor();
      // ...and this stack's name lists the stack workflow and its three children.
      await page.goto(listUrl(`StackName="${name}"`));
      const stackLink = page.getByRole('link', { name: stackId, exact: true });
      await waitWithReload(page, stackLink);
      for (const svc of services) await waitWithReload(page, page.getByRole('link', { name: `${stackId}.${svc}`, exact: true }));
      const rows = page.getByTestId('workflows-summary-configurable-table-row');
      expect(await rows.count()).toBe(1 + services.length);
      await rows.filter({ has: stackLink }).getByText('stackWorkflow').waitFor();
      await screenshot('ui-01-list-filtered-by-stackname.png');
      // The service that gave up is a Failed run: the list tells it from the healthy ones, and filters it.
      await page.goto(listUrl(`StackName="${name}" AND ExecutionStatus="Failed"`));
      await waitWithReload(page, page.getByRole('link', { name: `${stackId}.crashy`, exact: true }));
      expect(await rows.count()).toBe(1);
      await screenshot('ui-01b-failed-service.png');
      await page.goto(listUrl(`StackName="${name}"`));
      await stackLink.waitFor();

      // The stack workflow page: its summary and the children's summaries in the history...
      await stackLink.click();
      await page.waitForURL(`**/workflows/${stackId}/${runId}/history`);
      await page.getByText(`stack ${name}: ${services.length} services`).first().waitFor();
      for (const svc of services) await page.getByText(`${svc}: ${command(svc)}`).first().waitFor();
      await screenshot('ui-02-stack-history.png');
      await page
        .locator('tr', { hasText: 'Start Child Workflow Execution Initiated' })
        .filter({ hasText: `data: ${command('data')}` })
        .scrollIntoViewIfNeeded();
      await screenshot('ui-03-stack-history-events.png');

      // ...its child workflows by id on the Relationships tab...
      await page.locator('#relationships-tab').click();
      for (const svc of services) await page.getByRole('link', { name: `${stackId}.${svc}`, exact: true }).waitFor();
      await screenshot('ui-04-stack-relationships.png');

      // ...and summary, details and the children's summaries on the User Metadata tab.
      await page.locator('#user-metadata-tab').click();
      await markdownPanel(page, 'Summary').getByText(`stack ${name}: ${services.length} services`).waitFor();
      await markdownPanel(page, 'Details').getByText(`Services: ${services.join(', ')}`).waitFor();
      // Current Details: one row per service with its spawn and ready times, and the critical chain.
      await markdownPanel(page, 'Current Details').getByText(/critical chain \d+ms: data .*→ api .*→ gateway/).waitFor();
      for (const svc of services) await page.getByText(`${svc}: ${command(svc)}`).first().waitFor();
      await screenshot('ui-05-stack-user-metadata.png');

      // A service workflow, reached from its parent: activity names and their summaries in the history.
      await page.locator('#relationships-tab').click();
      await page.getByRole('link', { name: `${stackId}.data`, exact: true }).click();
      await page.waitForURL(`**/workflows/${stackId}.data/*/history`);
      for (const activity of ACTIVITIES) await page.getByText(activity).first().waitFor();
      await page.getByText(`spawn data: ${command('data')}`).first().waitFor();
      await page.getByText(`await healthy and register data: GET ${probe.url}`).first().waitFor();
      await screenshot('ui-06-service-history.png');

      // Its User Metadata: the summary, the current state (setCurrentDetails) and the activity summaries.
      await page.locator('#user-metadata-tab').click();
      await markdownPanel(page, 'Summary').getByText(`data: ${command('data')}`).waitFor();
      await markdownPanel(page, 'Current Details').getByText('healthy', { exact: true }).waitFor();
      await page.getByText(`spawn data: ${command('data')}`).first().waitFor();
      await screenshot('ui-07-service-user-metadata.png');

      // A dependent's spawn waited on its host: its summary names what for.
      await page.goto(`${ui}/namespaces/default/workflows/${stackId}/${runId}/history`);
      await page.locator('#relationships-tab').click();
      await page.getByRole('link', { name: `${stackId}.api`, exact: true }).click();
      await page.waitForURL(`**/workflows/${stackId}.api/*/history`);
      await page.getByText(`spawn api once data healthy: ${command('api')}`).first().waitFor();
      await screenshot('ui-08-gated-spawn.png');

      // The crashing service: its back-off timers name the service and the cause; supervision says what an attempt is.
      await page.goto(`${ui}/namespaces/default/workflows/${stackId}/${runId}/history`);
      await page.locator('#relationships-tab').click();
      await page.getByRole('link', { name: `${stackId}.crashy`, exact: true }).click();
      await page.waitForURL(`**/workflows/${stackId}.crashy/*/history`);
      await page.getByText(/back-off crashy \d+ms after exited \(code 1\) \(restart 1\/2\)/).first().waitFor();
      await page.getByText(/supervise crashy \(pid \d+\) until it exits; a further attempt is a worker taking over/).first().waitFor();
      await screenshot('ui-09-back-off.png');
    } catch (err) {
      await screenshot('ui-failure.png').catch(() => undefined);
      throw err;
    } finally {
      console.log(`Web UI screenshots:\n${screenshots.map((s) => `  ${s}`).join('\n')}`);
      await page.close();
    }
  }, 120_000);
});
