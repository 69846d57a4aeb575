import { formatProblem, StackFileError } from '../../src/config/index.js';

/** The problems (formatted, one line each) that `run` throws as a StackFileError; fails the test when it throws nothing. */
export function stackProblems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof StackFileError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a StackFileError');
}
