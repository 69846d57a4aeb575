// Exit codes of SPEC §8, carried by the error that decides them.
export const EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
