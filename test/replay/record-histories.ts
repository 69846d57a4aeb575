// Records the histories that test/replay/replay.test.ts replays: real runs of the workflows through
// startup, a crash and its restart, restarts by update (with continue-as-new) and the drain.
// Payloads are encrypted with the test key of replay-key.ts.
// Run it with `npm run record-histories` after a deliberate workflow change, and commit the files.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { execa } from 'execa';
import type { Client } from '@temporalio/client';
import { watchUntilSettled } from '../../src/cli/progress.js';
import { resolveTemporalCli } from '../../src/temporal/cli-binary.js';
import { serviceWorkflowId, stackWorkflowId } from '../../src/workflows/definitions.js';
import { fixtureStack, startWorld, type TestWorld } from '../support/harness.js';
import { testTemporalAddress } from '../support/temporal-server.js';
import { REPLAY_ENCRYPTION_KEY } from './replay-key.js';

let world: TestWorld;
beforeAll(async () => {
  world = await startWorld({ maxHistoryEvents: 60 }, { encryptionKey: REPLAY_ENCRYPTION_KEY });
});
afterAll(async () => {
  await world.stop();
});

/**
 * Every run of the stack workflow and of its service workflows, in the JSON the Temporal CLI
 * prints for replay (the SDK's own JSON encoder rejects the client's proto objects).
 */
async function histories(client: Client, stack: string, services: string[]) {
  const cli = await resolveTemporalCli({ install: false });
  const ids = [stackWorkflowId(stack), ...services.map((s) => serviceWorkflowId(stack, s))];
  const runs: { workflowId: string; history: unknown }[] = [];
  for (const workflowId of ids) {
    for await (const execution of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
      const shown = await execa(cli, ['workflow', 'show', '--address', testTemporalAddress(), '-w', workflowId, '-r', execution.runId, '--output', 'json']);
      runs.push({ workflowId, history: JSON.parse(shown.stdout) });
    }
  }
  return runs;
}

test('record the lifecycle histories', async () => {
  const { spec } = await fixtureStack(world, {
    db: { readyDelayMs: 50 },
    api: { dependsOn: { db: 'healthy' } },
    job: { port: false, env: { EXIT_AFTER_MS: '50' } },
  });
  const names = Object.keys(spec.services);
  await world.stacks.start(spec, []);
  const up = await watchUntilSettled(world.stacks, spec.name, names, () => undefined);
  process.kill(up.services.db.pid!, 'SIGKILL');
  await watchUntilSettled(world.stacks, spec.name, names, () => undefined);
  for (let i = 0; i < 3; i++) await world.stacks.restart(spec.name, 'api');
  await world.stacks.restart(spec.name, 'db', true);
  const final = await world.stacks.shutdown(spec.name, 'recording');
  expect(final?.state).toBe('stopped');

  const runs = await histories(world.stacks.client, spec.name, names);
  expect(runs.length).toBeGreaterThan(names.length + 1);
  await writeFile(resolve('test/histories/lifecycle.json'), JSON.stringify(runs));
});
