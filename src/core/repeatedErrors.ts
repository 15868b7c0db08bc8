/**
 * A step that fails the same way on every attempt writes the same (often long) error each time:
 * eight attempts of a locked table are eight copies of one Snowflake message, then the run's end
 * line is a ninth. Views that show a run's log (the console, `logs`, `--follow`, the demo) print it
 * in full once and refer back to it after that. The run's records keep every line as written;
 * `--json` prints them raw.
 */
const ATTEMPT_FAILED = /^(step (\S+) attempt (\d+) failed \([^)]*\): )([\s\S]+)$/;
const RUN_FAILED = /^run failed: ([\s\S]+)$/;

export interface RepeatedErrors {
  /** A run-log message, in the order printed: a repeated failure is referred to. */
  line(msg: string): string;
  /** A step's error shown elsewhere (a step's state): the text the first time, then a reference. */
  error(stepId: string, attempt: number, message: string): string;
}

export function repeatedErrors(): RepeatedErrors {
  /** Error text → where it was first said, per step ("1") and for the run ("load attempt 1"). */
  const byStep = new Map<string, number>();
  const anywhere = new Map<string, string>();
  const said = (stepId: string, attempt: number, message: string): number | undefined => {
    const key = `${stepId}\u0000${message}`;
    const first = byStep.get(key);
    if (first !== undefined) return first;
    byStep.set(key, attempt);
    if (!anywhere.has(message)) anywhere.set(message, `${stepId} attempt ${attempt}`);
    return undefined;
  };
  return {
    line(msg) {
      const failed = ATTEMPT_FAILED.exec(msg);
      if (failed) {
        const [, head = '', step = '', attempt = '', error = ''] = failed;
        const first = said(step, Number(attempt), error);
        return first === undefined || first === Number(attempt) ? msg : `${head}same error as attempt ${first}`;
      }
      const ended = RUN_FAILED.exec(msg);
      const first = ended ? anywhere.get(ended[1] ?? '') : undefined;
      return first === undefined ? msg : `run failed: same error as ${first} (above)`;
    },
    error(stepId, attempt, message) {
      const first = said(stepId, attempt, message);
      if (first === undefined) return message;
      return first === attempt ? 'the error above' : `same error as attempt ${first}`;
    },
  };
}

/** Rewrites run-log messages in order (see repeatedErrors). */
export function repeatedErrorCompactor(): (msg: string) => string {
  const seen = repeatedErrors();
  return (msg) => seen.line(msg);
}

/** For attempt lists: the earlier attempt whose error is the same text, if any. */
export function sameErrorAs(attempts: readonly { readonly attempt: number; readonly error?: { readonly message: string } }[], index: number): number | undefined {
  const message = attempts[index]?.error?.message;
  if (message === undefined) return undefined;
  return attempts.slice(0, index).find((a) => a.error?.message === message)?.attempt;
}
