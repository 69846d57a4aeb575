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

/** A setting in the environment (e.g. STACKFLOW_UI_PORT) that stackflow cannot use (CLI exit code 2). */
export class InvalidSettingError extends Error {
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'InvalidSettingError';
  }
}

/**
 * The embedded dev server still runs but its database file is gone (`rm -rf .stackflow`): its
 * history, and every stack workflow in it, went with the file (CLI exit code 1).
 */
export class EmbeddedDatabaseLostError extends Error {
  readonly exitCode = 1;

  constructor(
    readonly address: string,
    readonly pid: number,
    readonly dbFile: string,
  ) {
    super(
      `The embedded Temporal dev server (pid ${pid}, ${address}) lost its database ${dbFile} (removed while it ran): ` +
        'the history of its stacks went with it. `stackflow down --all` stops it and the processes this stack left running; then `stackflow up` starts afresh.',
    );
    this.name = 'EmbeddedDatabaseLostError';
  }
}
