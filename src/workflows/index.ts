// The workflow bundle's entry: every workflow type the worker registers.
export { stackWorkflow } from './stack.js';
export { serviceWorkflow } from './service.js';
