/**
 * The run store's TableClients: identity-based against Azure (a TokenCredential, no keys), or a
 * connection string for Azurite. Tables are created on first use, once per process.
 */
import { RestError, TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { NamedKeyCredential } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';

export interface RunStoreTables {
  /** Per run (PartitionKey = run id): the run row, its attempts, its log lines. */
  readonly runs: TableClient;
  /**
   * The store's bounds (`meta`: the months holding runs, the upgrade marker), and the all-runs
   * index rows of runs recorded before the month tables (read until they are copied: backfillLabels).
   */
  readonly index: TableClient;
  /**
   * The listing indexes of one month (table `<prefix>RunIndex<yyyymm>`): all runs (`a~<month>`),
   * by project (`p~<project>~<month>`), by tag (`t~<tag>~<month>`); one client per month, kept. A
   * table per month: Azurite evaluates a query's filter over every entity of the table, so a
   * listing costs what one month holds, not the whole history (docs/run-store.md, "Listings").
   */
  listing(bucket: string): TableClient;
  /** Per schedule: its state row (pause flag, checkpoint) and its slot ledger. */
  readonly schedules: TableClient;
  /** Idempotency key → run id, per pipeline. */
  readonly idempotency: TableClient;
  /** Pinned definitions: canonical JSON by `definitionVersion` (definitionStore.ts). */
  readonly definitions: TableClient;
  /** Shared concurrency pools: one ledger entity per pool (src/pools/tableStore.ts). */
  readonly pools: TableClient;
}

export type RunStoreConnection =
  | { readonly url: string; readonly credential: TokenCredential | NamedKeyCredential }
  | { readonly connectionString: string };

export function tableNames(prefix: string): Record<keyof RunStoreTables, string> {
  return { runs: `${prefix}Runs`, index: `${prefix}RunIndex`, listing: listingTablePrefix(prefix), schedules: `${prefix}Schedules`, idempotency: `${prefix}IdempotencyKeys`, definitions: `${prefix}Definitions`, pools: `${prefix}Pools` };
}

/** Month tables of the listing indexes are named this plus `yyyymm` (letters and digits, as Table Storage asks). */
export function listingTablePrefix(prefix: string): string {
  return `${prefix}RunIndex`;
}

/**
 * U+2028 and U+2029 written as JSON escapes in what the clients send. JSON allows them raw, and
 * JSON.stringify leaves them raw, but Azurite reads each operation of a batch with a regular
 * expression whose `.` stops at them (TableBatchSerialization: `/{+.+}+/`), so a log line quoting a
 * file name or a service error that holds one failed the whole batch ("Transaction Failed", 500).
 * The escape means the same character to any JSON reader: the stored text is unchanged.
 */
const escapeLineSeparators: NonNullable<TableServiceClientOptions['additionalPolicies']>[number]['policy'] = {
  name: 'escapeLineSeparators',
  sendRequest(request, next) {
    if (typeof request.body === 'string' && /[\u2028\u2029]/.test(request.body)) {
      request.body = request.body.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
    }
    return next(request);
  },
};

/** Builds the clients (the month tables' on first use). `options.additionalPolicies` lets the bench count requests. */
export function createRunStoreTables(connection: RunStoreConnection, prefix: string, given: TableServiceClientOptions = {}): RunStoreTables {
  const names = tableNames(prefix);
  const options: TableServiceClientOptions = { ...given, additionalPolicies: [{ policy: escapeLineSeparators, position: 'perCall' }, ...(given.additionalPolicies ?? [])] };
  const make = (table: string): TableClient => {
    if ('connectionString' in connection) {
      // Azurite speaks plain HTTP; real accounts are https and ignore the flag.
      return TableClient.fromConnectionString(connection.connectionString, table, { allowInsecureConnection: true, ...options });
    }
    const insecure = connection.url.startsWith('http://');
    // TableClient has overloads per credential kind; both kinds are accepted at run time.
    return new TableClient(connection.url, table, connection.credential as TokenCredential, { allowInsecureConnection: insecure, ...options });
  };
  const months = new Map<string, TableClient>();
  const listing = (bucket: string): TableClient => {
    if (!/^\d{6}$/u.test(bucket)) throw new Error(`not a month bucket: ${bucket}`);
    let client = months.get(bucket);
    if (!client) {
      client = make(`${names.listing}${bucket}`);
      months.set(bucket, client);
    }
    return client;
  };
  return { runs: make(names.runs), index: make(names.index), listing, schedules: make(names.schedules), idempotency: make(names.idempotency), definitions: make(names.definitions), pools: make(names.pools) };
}

/** A service client for the same account (health checks list tables through it). */
export function createServiceClient(connection: RunStoreConnection, options: TableServiceClientOptions = {}): TableServiceClient {
  if ('connectionString' in connection) {
    return TableServiceClient.fromConnectionString(connection.connectionString, { allowInsecureConnection: true, ...options });
  }
  return new TableServiceClient(connection.url, connection.credential as TokenCredential, { allowInsecureConnection: connection.url.startsWith('http://'), ...options });
}

/**
 * Per client, not per URL: a URL names a table only as long as its server lives — tests start and
 * stop Azurite many times in one process, and a later one can get an earlier one's port.
 */
const created = new WeakMap<TableClient, Promise<void>>();

/** createTable once per client (a store keeps its clients); a failure is forgotten so the next call tries again. */
export function ensureTable(client: TableClient): Promise<void> {
  let pending = created.get(client);
  if (!pending) {
    pending = client.createTable().catch((error: unknown) => {
      if (error instanceof RestError && error.statusCode === 409) return;
      created.delete(client);
      throw error;
    });
    created.set(client, pending);
  }
  return pending;
}

export function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}
