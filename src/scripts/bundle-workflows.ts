// Build step: bundle the workflow code once, so `up` and the worker never run webpack.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH, WORKFLOW_BUNDLE_PATH, WORKFLOWS_ENTRY_PATH } from '../paths.js';

// The sandbox's failure converter is bundled in: workflow failures carry their message encrypted too.
const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_ENTRY_PATH,
  failureConverterPath: FAILURE_CONVERTER_PATH,
  logger: quietLogger(),
});
await writeFile(WORKFLOW_BUNDLE_PATH, code);
console.log(`workflow bundle: ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)`);

function quietLogger() {
  const noop = () => undefined;
  return { log: noop, trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error };
}
