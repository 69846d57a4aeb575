/** No Temporal server answers at the address stackflow must use (CLI exit code 3, SPEC §8). */
export class TemporalUnreachableError extends Error {
  readonly exitCode = 3;

  constructor(
    readonly address: string,
    hint: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot reach a Temporal server at ${address}. ${hint}`, options);
    this.name = 'TemporalUnreachableError';
  }
}
