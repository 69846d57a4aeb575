// The stack file: loading, validation and resolution into a StackSpec, plus the checks `up` runs before spawning.
export type { Problem } from './problems.js';
export { escapeControl, formatProblem, StackFileError } from './problems.js';
export type { LoadedStack } from './resolve.js';
export type { ParseOptions } from './parse.js';
export { parseStack } from './parse.js';
export type { LoadOptions } from './load.js';
export { loadStack } from './load.js';
export type { PreflightOptions } from './preflight.js';
export { preflight } from './preflight.js';
export { parseDuration } from './durations.js';
export { envPrefix } from './service-env.js';
export { instanceNames, serviceNameOf } from './replicas.js';
export type { StackIdentity } from './identity.js';
export { identifyStack } from './identity.js';
