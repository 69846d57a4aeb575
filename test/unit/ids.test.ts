// The plain names of src/workflows/ids.ts that must match what the SDK derives elsewhere.
import { describe, expect, test } from '@jest/globals';
import { stackWorkflow } from '../../src/workflows/index.js';
import { stackNameKey } from '../../src/workflows/definitions.js';
import { STACK_NAME_SEARCH_ATTRIBUTE, STACK_WORKFLOW_TYPE } from '../../src/workflows/ids.js';

describe('Temporal names', () => {
  test('the stack workflow type is the name of its function (the SDK registers it by that name)', () => {
    expect(STACK_WORKFLOW_TYPE).toBe(stackWorkflow.name);
  });

  test('the stack name search attribute key carries the name the embedded server registers', () => {
    expect(stackNameKey.name).toBe(STACK_NAME_SEARCH_ATTRIBUTE);
  });
});
