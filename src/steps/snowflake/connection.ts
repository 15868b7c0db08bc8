/**
 * Connections to Snowflake: options from a step's resolved settings, and a per-process cache so a
 * warm instance reuses its session instead of logging in for every activity (a login is a round
 * trip plus key signing; for workload identity also a managed-identity token).
 *
 * snowflake-sdk is loaded on first use: requiring it costs hundreds of milliseconds, which a cold
 * start of an app that never reaches a Snowflake step should not pay.
 */
import type * as SnowflakeSdk from 'snowflake-sdk';

export type Sdk = typeof SnowflakeSdk;
export type Connection = SnowflakeSdk.Connection;
export type ConnectionOptions = SnowflakeSdk.ConnectionOptions;

export type Credentials =
  | { readonly type: 'password'; readonly password: string }
  | { readonly type: 'keyPair'; readonly privateKey: string; readonly passphrase?: string }
  | { readonly type: 'oauth'; readonly token: string }
  | { readonly type: 'workloadIdentity'; readonly clientId?: string };

/** A step's connection once every value is resolved and checked. */
export interface ConnectionSettings {
  readonly account: string;
  readonly user: string;
  readonly role?: string;
  readonly warehouse: string;
  readonly database: string;
  readonly schema: string;
  /** Endpoint override (tests, private links); unset = the account's own URL. */
  readonly accessUrl?: string;
}

let loaded: Sdk | undefined;

/** snowflake-sdk, required on first call, with its own logging off (it would write a log file). */
export function loadSnowflakeSdk(): Sdk {
  if (!loaded) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberate lazy load (cold start)
    const sdk = require('snowflake-sdk') as Sdk;
    sdk.configure({ logLevel: 'OFF' });
    loaded = sdk;
  }
  return loaded;
}

export function connectionOptions(settings: ConnectionSettings, credentials: Credentials): ConnectionOptions {
  const base: ConnectionOptions = {
    account: settings.account,
    username: settings.user,
    warehouse: settings.warehouse,
    database: settings.database,
    schema: settings.schema,
    ...(settings.role ? { role: settings.role } : {}),
    ...(settings.accessUrl ? { accessUrl: settings.accessUrl } : {}),
    application: 'durable-pipelines',
    // Our orchestrator retries with durable timers; the driver's own login retries only cover blips.
    sfRetryMaxLoginRetries: 2,
    clientSessionKeepAlive: false,
  };
  switch (credentials.type) {
    case 'password':
      return { ...base, authenticator: 'SNOWFLAKE', password: credentials.password };
    case 'keyPair':
      return {
        ...base,
        authenticator: 'SNOWFLAKE_JWT',
        privateKey: credentials.privateKey,
        ...(credentials.passphrase ? { privateKeyPass: credentials.passphrase } : {}),
      };
    case 'oauth':
      return { ...base, authenticator: 'OAUTH', token: credentials.token };
    case 'workloadIdentity':
      return {
        ...base,
        authenticator: 'WORKLOAD_IDENTITY',
        workloadIdentityProvider: 'AZURE',
        ...(credentials.clientId ? { workloadIdentityAzureClientId: credentials.clientId } : {}),
      };
  }
}

/** Sessions are shared by (endpoint, account, user, auth kind, role, warehouse, database, schema). */
export function connectionKey(settings: ConnectionSettings, authType: Credentials['type']): string {
  return JSON.stringify([settings.accessUrl ?? '', settings.account.toUpperCase(), settings.user.toUpperCase(), authType, settings.role ?? '', settings.warehouse, settings.database, settings.schema]);
}

/** Connects; the driver reports some login failures only through the callback, so use it. */
export function connect(sdk: Sdk, options: ConnectionOptions): Promise<Connection> {
  const connection = sdk.createConnection(options);
  return new Promise<Connection>((resolve, reject) => {
    connection.connect((error) => (error ? reject(error) : resolve(connection)));
  });
}

export function destroyQuietly(connection: Connection): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      if (!connection.isUp()) return resolve();
      connection.destroy(() => resolve());
    } catch {
      resolve();
    }
  });
}

interface Entry {
  readonly connecting: Promise<Connection>;
  lastUsed: number;
}

/**
 * Connections by key. Concurrent activities asking for the same key share one login. A connection
 * idle for longer than `revalidateAfterMs` is checked with a heartbeat before reuse; a failed
 * login is never cached.
 */
export class ConnectionCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly revalidateAfterMs = 5 * 60_000,
    private readonly maxEntries = 16,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  async get(key: string, open: () => Promise<Connection>): Promise<Connection> {
    const entry = this.entries.get(key);
    if (entry) {
      const connection = await entry.connecting.catch(() => undefined);
      if (connection && this.entries.get(key) === entry && (await this.stillGood(entry, connection))) {
        entry.lastUsed = this.now();
        return connection;
      }
      if (this.entries.get(key) === entry) this.entries.delete(key);
    }
    const connecting = open();
    const fresh: Entry = { connecting, lastUsed: this.now() };
    this.entries.set(key, fresh);
    this.evictOldest();
    try {
      return await connecting;
    } catch (error) {
      if (this.entries.get(key) === fresh) this.entries.delete(key);
      throw error;
    }
  }

  /** Forgets a connection (auth failure, dead session) and logs it out in the background. */
  drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.connecting.then(destroyQuietly, () => undefined).catch(() => undefined);
  }

  async clear(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((e) => e.connecting.then(destroyQuietly, () => undefined)));
  }

  private async stillGood(entry: Entry, connection: Connection): Promise<boolean> {
    if (!connection.isUp()) return false;
    if (this.now() - entry.lastUsed < this.revalidateAfterMs) return true;
    return connection.isValidAsync();
  }

  private evictOldest(): void {
    while (this.entries.size > this.maxEntries) {
      let oldestKey: string | undefined;
      let oldest = Infinity;
      for (const [key, entry] of this.entries) {
        if (entry.lastUsed < oldest) {
          oldest = entry.lastUsed;
          oldestKey = key;
        }
      }
      if (oldestKey === undefined) return;
      this.drop(oldestKey);
    }
  }
}

/** The instance-wide cache used when an adapter is not given its own. */
export const sharedConnections = new ConnectionCache();
