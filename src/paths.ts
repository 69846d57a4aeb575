// Where the build puts things, resolved from this file so it works from dist/ and from ts sources.
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: this file is `<root>/src/paths.ts` or `<root>/dist/src/paths.js`. */
export const PACKAGE_ROOT = resolve(here, here.endsWith('/dist/src') ? '../..' : '..');
export const WORKFLOWS_ENTRY_PATH = resolve(PACKAGE_ROOT, 'dist/src/workflows/index.js');
export const WORKFLOW_BUNDLE_PATH = resolve(PACKAGE_ROOT, 'dist/workflow-bundle.js');
export const CLI_ENTRY_PATH = resolve(PACKAGE_ROOT, 'bin/stackflow.js');
/** The failure converter module every data converter names (CommonJS: the SDK `require()`s it). */
export const FAILURE_CONVERTER_PATH = resolve(PACKAGE_ROOT, 'dist/src/codec/failure-converter.cjs');
