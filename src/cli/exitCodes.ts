/** Exit codes of the CLI, so scripts and CI can branch on them. */
export const EXIT = {
  ok: 0,
  /** The run failed (run --follow, logs --follow), or a command failed. */
  failed: 1,
  /** The run was cancelled. */
  cancelled: 2,
  /** The server refused the input (400) or the command line was wrong. */
  invalid: 3,
  /** Unknown pipeline, schedule or run (404). */
  notFound: 4,
  /** Missing or wrong function key (401/403). */
  unauthorized: 5,
  /** Server unreachable. */
  unreachable: 6,
  /** Conflict (409): e.g. cancelling a finished run. */
  conflict: 7,
  /** `--follow` lost the server mid-run (after retrying): the run goes on; its outcome is unknown. */
  couldNotFollow: 8,
} as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
    /** The flags at fault, for `--json` output. */
    readonly fields: readonly { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}
