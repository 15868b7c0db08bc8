/**
 * Error 000630, "Statement reached its statement or warehouse timeout of N second(s) and was
 * canceled", is Snowflake's answer to two different limits, worded alike:
 *
 * - STATEMENT_TIMEOUT_IN_SECONDS: the statement *ran* longer than allowed (set on the session,
 *   user, account or warehouse; the lowest applies). A retry runs into the same limit: permanent,
 *   and the message says which setting to raise.
 * - STATEMENT_QUEUED_TIMEOUT_IN_SECONDS: the statement *waited* in a busy warehouse's queue
 *   longer than allowed. A later attempt may get a slot: transient.
 *
 * (docs.snowflake.com "Parameters", both entries.) The error names the limit in seconds; the
 * adapter reads both settings as they apply to its session and warehouse (SHOW PARAMETERS) and
 * classifies by the one that matches. When it cannot tell, the failure stays transient, as before.
 */
import { PermanentError, TransientError, type ClassifiedError } from '../../core/errors';
import { maskSecrets } from '../../logging/mask';
import { renderIdentifier } from './copyInto';
import type { Connection } from './connection';
import { deadline, runSync } from './execute';

export const STATEMENT_TIMEOUT_CODE = '000630';

interface Setting {
  readonly key: string;
  readonly seconds: number;
  /** "set on warehouse X", "set at user level", "Snowflake's default". */
  readonly where: string;
}

/** The limit the error names, in seconds, if it names one. */
export function timeoutSecondsIn(message: string): number | undefined {
  const match = /timeout of ([\d,.\u202f\u00a0 ]+) second/i.exec(message);
  if (!match?.[1]) return undefined;
  const seconds = Number(match[1].replace(/[^\d]/g, ''));
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}

async function timeoutSettings(connection: Connection, warehouse: string, callTimeoutMs: number): Promise<Setting[]> {
  const read = async (scope: string, place: (level: string) => string): Promise<Setting[]> => {
    const rows = await deadline(runSync(connection, `SHOW PARAMETERS LIKE 'STATEMENT%TIMEOUT_IN_SECONDS' IN ${scope}`), callTimeoutMs, 'SHOW PARAMETERS');
    return rows.flatMap((row) => {
      const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');
      const key = text(row['key']).toUpperCase();
      const seconds = Number(row['value']);
      if (!/^STATEMENT_(QUEUED_)?TIMEOUT_IN_SECONDS$/.test(key) || !Number.isFinite(seconds)) return [];
      return [{ key, seconds, where: place(text(row['level']).toUpperCase()) }];
    });
  };
  const levelText = (level: string) => (level === '' ? "Snowflake's default" : `set at ${level.toLowerCase()} level`);
  const session = await read('SESSION', levelText);
  const onWarehouse = await read(`WAREHOUSE ${renderIdentifier(warehouse, 1)}`, (level) => (level === 'WAREHOUSE' ? `set on warehouse ${warehouse}` : levelText(level)));
  return [...session, ...onWarehouse];
}

/**
 * The classified failure for a 000630 error: permanent when it was the statement timeout,
 * transient when it was the queue timeout or the cause cannot be read.
 */
export async function statementTimeoutFailure(connection: Connection, snowflakeMessage: string, warehouse: string, callTimeoutMs: number): Promise<ClassifiedError> {
  const said = maskSecrets(snowflakeMessage.replace(/\s+/g, ' ').trim());
  const seconds = timeoutSecondsIn(said);
  let settings: Setting[] = [];
  try {
    settings = seconds === undefined ? [] : await timeoutSettings(connection, warehouse, callTimeoutMs);
  } catch {
    // Reading the settings is a courtesy; the failure is classified without them.
  }
  const matching = (key: string) => settings.find((s) => s.key === key && s.seconds === seconds);
  const running = matching('STATEMENT_TIMEOUT_IN_SECONDS');
  if (running) {
    return new PermanentError(
      maskSecrets(`Snowflake stopped the statement at STATEMENT_TIMEOUT_IN_SECONDS = ${running.seconds} (${running.where}): a retry would stop at the same limit, so the step is not retried. ` +
        `Raise STATEMENT_TIMEOUT_IN_SECONDS for this user or warehouse, or make the statement faster. Snowflake said: ${said} (code ${STATEMENT_TIMEOUT_CODE})`),
      { code: STATEMENT_TIMEOUT_CODE },
    );
  }
  const queued = matching('STATEMENT_QUEUED_TIMEOUT_IN_SECONDS');
  if (queued) {
    return new TransientError(
      maskSecrets(`Snowflake gave up on the statement after it waited ${queued.seconds} s in warehouse ${warehouse}'s queue (STATEMENT_QUEUED_TIMEOUT_IN_SECONDS = ${queued.seconds}, ${queued.where}): the warehouse was busy; the step will retry. ` +
        `Snowflake said: ${said} (code ${STATEMENT_TIMEOUT_CODE})`),
      { code: STATEMENT_TIMEOUT_CODE },
    );
  }
  return new TransientError(`Snowflake query failed: ${said} (code ${STATEMENT_TIMEOUT_CODE}; neither timeout setting of the session or warehouse matches, so the step will retry)`, { code: STATEMENT_TIMEOUT_CODE });
}
