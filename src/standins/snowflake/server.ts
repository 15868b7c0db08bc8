/**
 * A local stand-in for Snowflake's REST endpoints, enough of them that the unmodified snowflake-sdk
 * runs against it through the `accessUrl` connection option: login (password, key-pair JWT, OAuth),
 * session heartbeat / renewal / logout, query-request (sync and `asyncExec`), query monitoring,
 * results by query id, abort, and error bodies with Snowflake's own codes.
 *
 * Wire shapes follow what snowflake-sdk 3.3 reads (dist/lib/services/sf.js, connection/statement.js,
 * connection/connection.js, connection/result/result.js): every answer is HTTP 200 with
 * `{ success, code, message, data }` unless a test scripts a raw HTTP status.
 *
 * Tests program it per SQL pattern (`script`) and read back what it received (`queries`, `logins`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { answerMetadataQuery, DEFAULT_TIMEOUT_PARAMETERS, isMetadataQuery, type TimeoutParameters } from './metadata';

export type CellValue = string | number | boolean | null;

export interface ColumnSpec {
  readonly name: string;
  readonly type: 'text' | 'fixed' | 'real' | 'boolean';
}

export interface ResultSpec {
  readonly columns: readonly ColumnSpec[];
  readonly rows: readonly (readonly CellValue[])[];
  /** Snowflake's statement type id (0x1000 SELECT, 0x3000+ DML). */
  readonly statementTypeId?: number;
}

export interface SnowflakeErrorSpec {
  readonly code: string;
  readonly message: string;
  readonly sqlState?: string;
}

/** How the stand-in answers queries whose SQL matches `match`. Later scripts win over earlier ones. */
export interface QueryScript {
  readonly match: RegExp | string | ((sql: string) => boolean);
  /** What the query answers; a function of the SQL when it depends on it (a stage's day folders). */
  readonly result?: ResultSpec | ((sql: string) => ResultSpec);
  /** The query fails with this error… */
  readonly error?: SnowflakeErrorSpec;
  /** …on its first `failTimes` executions only (then succeeds with `result`). Unset: always. */
  readonly failTimes?: number;
  /** The first `httpTimes` query-requests get this raw HTTP status (e.g. 503) and no body. */
  readonly httpStatus?: number;
  readonly httpTimes?: number;
  /** The query stays running for this many status checks / result fetches before it finishes. */
  readonly runningPolls?: number;
  /** The status reported while running ('RUNNING', 'RESUMING_WAREHOUSE', 'QUEUED'…). */
  readonly runningStatus?: string;
  /**
   * The statuses reported by successive status checks while the query runs, one each (the last
   * repeats): `['QUEUED', 'BLOCKED', 'RESTARTED']`. Any of snowflake-sdk's statuses
   * (lib/constants/query_status.js) may be scripted, also those the driver files under
   * `errorStatuses` though the statement still lives: BLOCKED (waiting on a lock; QUERY_HISTORY
   * lists "blocked" among a running query's execution statuses), ABORTING (on its way to ABORTED),
   * DISCONNECTED. `runningPolls` defaults to this list's length.
   */
  readonly runningStatuses?: readonly string[];
  /** The query ends ABORTED (as after a cancel) instead of with `result`/`error`. */
  readonly endsAborted?: boolean;
  /**
   * The first `noDataPolls` status checks answer the status NO_DATA (a record without data yet),
   * which every driver keeps polling through, up to `asyncNoDataMaxRetry = 24` in snowflake-sdk.
   */
  readonly noDataPolls?: number;
  /**
   * The first `unknownPolls` status checks find no record of the query (`data.queries: []`).
   * snowflake-sdk reads that as NO_QUERY_DATA and, since #882 (connection.js
   * getResultsFromQueryId), gives up at once; JDBC and the Python connector read the same answer
   * as NO_DATA and keep polling up to 24 times. Whether monitoring can lag a fresh submit is not
   * documented either way: scripting this offers the "lag" behaviour, an id never submitted
   * offers the "unknown" one.
   */
  readonly unknownPolls?: number;
}

/**
 * Errors as Snowflake words them, for scripts. Codes and SQLSTATEs as the drivers report them:
 * 000604/57014 is what a canceled statement answers (this stand-in's own abort answers it too);
 * 000606/57P03 is a session without a usable warehouse; 000625/57014 is a DML statement given up
 * because too many statements already wait on the table's lock (the message as Snowflake prints
 * it, quoted in Snowflake community and customer write-ups, e.g. resultant.com "Overcoming
 * concurrent write limits in Snowflake"). Transient or not is the adapter's call, not ours.
 */
export const SNOWFLAKE_ERRORS = {
  canceled: { code: '000604', message: 'SQL execution canceled', sqlState: '57014' },
  noActiveWarehouse: {
    code: '000606',
    message: "No active warehouse selected in the current session.  Select an active warehouse with the 'use warehouse' command.",
    sqlState: '57P03',
  },
  /**
   * A statement stopped by STATEMENT_TIMEOUT_IN_SECONDS (session, user, warehouse or account
   * level, the lowest wins) or by STATEMENT_QUEUED_TIMEOUT_IN_SECONDS: Snowflake words both the
   * same way, naming the limit in seconds ("Statement reached its statement or warehouse timeout
   * of 3,600 second(s) and was canceled.", quoted in Snowflake community threads and the
   * snowflake-connector-python issues).
   */
  statementTimeout: (seconds: number): SnowflakeErrorSpec => ({
    code: '000630',
    message: `Statement reached its statement or warehouse timeout of ${seconds.toLocaleString('en-US')} second(s) and was canceled.`,
    sqlState: '57014',
  }),
  lockWaitersExceeded: (table: string): SnowflakeErrorSpec => ({
    code: '000625',
    message:
      `Statement '01b6c04c-0108-5374-0008-50d700010052' has locked table '${table}' in transaction 1725239781553000000 and this lock has not yet been released.\n` +
      "Your statement '01b6c04c-0108-5374-0008-50d700010056' was aborted because the number of waiters for this lock exceeds the 20 statements limit.",
    sqlState: '57014',
  }),
} as const;

export interface UserSpec {
  readonly password?: string;
  /** PEM public key registered for key-pair auth (RSA_PUBLIC_KEY). */
  readonly publicKeyPem?: string;
  readonly oauthToken?: string;
  /** Token the user's workload identity (an Azure managed identity) presents. */
  readonly workloadIdentityToken?: string;
}

export interface LoginRecord {
  readonly user: string;
  readonly account: string;
  readonly authenticator: string;
  readonly warehouse: string | undefined;
  readonly database: string | undefined;
  readonly schema: string | undefined;
  readonly role: string | undefined;
  readonly ok: boolean;
  readonly code: string | null;
}

export interface QueryRecord {
  readonly id: string;
  readonly requestId: string | undefined;
  readonly sql: string;
  readonly bindings: Record<string, { type: string; value: unknown }> | undefined;
  readonly parameters: Record<string, unknown>;
  readonly asyncExec: boolean;
  readonly sessionId: number;
  readonly user: string;
  status: string;
  remainingPolls: number;
  unknownPolls: number;
  noDataPolls: number;
  /** Status checks answered while the query ran. */
  runningChecks: number;
  readonly runningStatuses: readonly string[];
  readonly endsAborted: boolean;
  readonly startedAt: number;
  readonly outcome: { kind: 'result'; result: ResultSpec } | { kind: 'error'; error: SnowflakeErrorSpec };
}

export interface StandInOptions {
  readonly account?: string;
  readonly users?: Record<string, UserSpec>;
  /** Timeout parameters `SHOW PARAMETERS … IN SESSION` / `IN WAREHOUSE` answer (metadata.ts). */
  readonly parameters?: TimeoutParameters;
}

interface Session {
  readonly id: number;
  readonly user: string;
  token: string;
  readonly masterToken: string;
  readonly warehouse: string | undefined;
  readonly database: string | undefined;
  readonly schema: string | undefined;
  readonly role: string | undefined;
}

type Body = Record<string, unknown>;

const DEFAULT_RESULT: ResultSpec = {
  columns: [{ name: 'status', type: 'text' }],
  rows: [['Statement executed successfully.']],
  statementTypeId: 0x6000,
};

const LOGIN_ERRORS = {
  password: { code: '390100', message: 'Incorrect username or password was specified.' },
  jwt: { code: '390144', message: 'JWT token is invalid.' },
  oauth: { code: '390303', message: 'Invalid OAuth access token.' },
  wif: { code: '390432', message: 'Workload identity authentication failed.' },
  unsupported: { code: '390100', message: 'Incorrect username or password was specified.' },
} as const;

export class SnowflakeStandIn {
  private server: Server | undefined;
  private readonly users = new Map<string, UserSpec>();
  private readonly sessions = new Map<string, Session>();
  private readonly masterTokens = new Map<string, Session>();
  private readonly scripts: { script: QueryScript; executions: number; httpAnswered: number }[] = [];
  private readonly queryById = new Map<string, QueryRecord>();
  private nextSessionId = 1000;
  private loginFailures: { status: number; remaining: number } | undefined;
  /** Session tokens past their validity (390112) and master tokens past theirs (390114). */
  private readonly expiredTokens = new Set<string>();
  private readonly expiredMasterTokens = new Set<string>();

  readonly account: string;
  /** What `SHOW PARAMETERS LIKE 'STATEMENT%' IN SESSION | IN WAREHOUSE <name>` answers; tests may change it. */
  parameters: TimeoutParameters;
  /** Every login attempt, in order. */
  readonly logins: LoginRecord[] = [];
  /** Every query-request received, in order. */
  readonly queries: QueryRecord[] = [];
  /** Managed-identity token requests (resource asked for, client id). */
  readonly managedIdentityRequests: { resource: string; clientId: string | undefined }[] = [];
  /** When set, `GET /msi/token` with this `X-IDENTITY-HEADER` hands out `token`. */
  managedIdentity: { header: string; token: string } | undefined;
  /** Query-requests answered from an earlier query with the same request id. */
  resubmissions = 0;
  /** Every HTTP request: `METHOD /path` (no query string). */
  readonly requests: string[] = [];

  constructor(options: StandInOptions = {}) {
    this.account = (options.account ?? 'testacct').toUpperCase();
    this.parameters = options.parameters ?? DEFAULT_TIMEOUT_PARAMETERS;
    for (const [name, spec] of Object.entries(options.users ?? {})) this.users.set(name.toUpperCase(), spec);
  }

  /** Starts listening on 127.0.0.1 and a free port; returns the access URL. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return this.url;
  }

  get url(): string {
    if (!this.server) throw new Error('stand-in not started');
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  setUser(name: string, spec: UserSpec): void {
    this.users.set(name.toUpperCase(), spec);
  }

  /** Programs the answer to queries matching `script.match`. */
  script(script: QueryScript): void {
    this.scripts.push({ script, executions: 0, httpAnswered: 0 });
  }

  /** The next `times` login requests get a raw HTTP `status` (e.g. 503). */
  failLogins(status: number, times: number): void {
    this.loginFailures = { status, remaining: times };
  }

  /** Forgets every session, as if they had expired server-side (the driver then sees 390111). */
  dropSessions(): void {
    this.sessions.clear();
    this.masterTokens.clear();
  }

  /**
   * Every current session token expires (requests then get 390112 "session expired", which the
   * driver answers by renewing through `/session/token-request` with the master token:
   * snowflake-sdk services/sf.js StateConnected / StateRenewing). With `master`, the master
   * tokens expire too: the renewal gets 390114 and the driver is disconnected, so the next
   * request needs a new login, i.e. a new session.
   */
  expireSessions(options: { master?: boolean } = {}): void {
    for (const session of this.sessions.values()) {
      this.expiredTokens.add(session.token);
      if (options.master) this.expiredMasterTokens.add(session.masterToken);
    }
  }

  get loginCount(): number {
    return this.logins.length;
  }

  get successfulLoginCount(): number {
    return this.logins.filter((l) => l.ok).length;
  }

  /** Queries the driver issued for the user (heartbeats and telemetry are not queries). */
  queriesMatching(pattern: RegExp): QueryRecord[] {
    return this.queries.filter((q) => pattern.test(q.sql));
  }

  count(route: string): number {
    return this.requests.filter((r) => r === route || r.startsWith(route)).length;
  }

  // ── HTTP ──────────────────────────────────────────────────────────────────────────────────────

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}`);
    const raw = await readBody(req);
    const body = raw.length > 0 ? (JSON.parse(raw) as Body) : {};

    if (method === 'POST' && url.pathname === '/session/v1/login-request') return this.login(url, body, res);
    if (method === 'GET' && url.pathname === '/msi/token') return this.managedIdentityToken(req, url, res);

    const renewal = url.pathname === '/session/token-request';
    const presented = /^Snowflake Token="([^"]+)"$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (renewal && this.expiredMasterTokens.has(presented)) {
      return send(res, { success: false, code: '390114', message: 'Authentication token has expired.  The user must authenticate again.', data: null });
    }
    if (!renewal && this.expiredTokens.has(presented)) {
      return send(res, { success: false, code: '390112', message: 'Your session has expired. Please login again.', data: null });
    }
    const session = this.sessionFor(req, renewal);
    if (!session) {
      return send(res, { success: false, code: '390111', message: 'Session no longer exists.  New login required to access the service.', data: null });
    }

    if (method === 'POST' && url.pathname === '/session/heartbeat') return send(res, { success: true, code: null, message: null, data: null });
    if (method === 'POST' && url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
      this.sessions.delete(session.token);
      this.masterTokens.delete(session.masterToken);
      return send(res, { success: true, code: null, message: null, data: null });
    }
    if (method === 'POST' && url.pathname === '/session/token-request') {
      this.sessions.delete(session.token);
      session.token = `session-${randomUUID()}`;
      this.sessions.set(session.token, session);
      return send(res, { success: true, code: null, message: null, data: { sessionToken: session.token, validityInSecondsST: 3600, masterToken: session.masterToken, validityInSecondsMT: 14400 } });
    }
    if (method === 'POST' && url.pathname === '/telemetry/send') return send(res, { success: true, code: null, message: null, data: 'Log Received' });
    if (method === 'POST' && url.pathname === '/queries/v1/query-request') return this.queryRequest(url, body, session, res);
    if (method === 'POST' && url.pathname === '/queries/v1/abort-request') {
      const requestId = typeof body['requestId'] === 'string' ? body['requestId'] : undefined;
      for (const q of this.queries) if (q.requestId === requestId && isRunning(q.status)) q.status = 'ABORTED';
      return send(res, { success: true, code: null, message: null, data: null });
    }

    const monitoring = /^\/monitoring\/queries\/([^/]+)$/.exec(url.pathname);
    if (method === 'GET' && monitoring?.[1]) return this.queryStatus(monitoring[1], res);
    const result = /^\/queries\/([^/]+)\/result$/.exec(url.pathname);
    if (method === 'GET' && result?.[1]) return this.queryResult(result[1], res);
    const abort = /^\/queries\/([^/]+)\/abort-request$/.exec(url.pathname);
    if (method === 'POST' && abort?.[1]) {
      const q = this.queryById.get(abort[1]);
      if (q && isRunning(q.status)) q.status = 'ABORTED';
      return send(res, { success: true, code: null, message: null, data: null });
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`stand-in: no route for ${method} ${url.pathname}`);
  }

  private sessionFor(req: IncomingMessage, master: boolean): Session | undefined {
    const header = req.headers.authorization ?? '';
    const token = /^Snowflake Token="([^"]+)"$/.exec(header)?.[1];
    if (!token) return undefined;
    return master ? this.masterTokens.get(token) : this.sessions.get(token);
  }

  /**
   * An App Service style managed-identity endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), so
   * the driver's DefaultAzureCredential can get the token workload identity sends.
   */
  private managedIdentityToken(req: IncomingMessage, url: URL, res: ServerResponse): void {
    const resource = url.searchParams.get('resource') ?? '';
    this.managedIdentityRequests.push({ resource, clientId: url.searchParams.get('client_id') ?? undefined });
    if (!this.managedIdentity || req.headers['x-identity-header'] !== this.managedIdentity.header) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'unauthorized' }));
      return;
    }
    const text = JSON.stringify({ access_token: this.managedIdentity.token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource, token_type: 'Bearer', client_id: 'stand-in' });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(text);
  }

  // ── Login ─────────────────────────────────────────────────────────────────────────────────────

  private login(url: URL, body: Body, res: ServerResponse): void {
    if (this.loginFailures && this.loginFailures.remaining > 0) {
      this.loginFailures.remaining -= 1;
      res.writeHead(this.loginFailures.status, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
      return;
    }
    const data = (body['data'] ?? {}) as Body;
    const user = str(data['LOGIN_NAME']);
    const account = str(data['ACCOUNT_NAME']);
    const authenticator = (str(data['AUTHENTICATOR']) || 'SNOWFLAKE').toUpperCase();
    const where = {
      warehouse: url.searchParams.get('warehouse') ?? undefined,
      database: url.searchParams.get('databaseName') ?? undefined,
      schema: url.searchParams.get('schemaName') ?? undefined,
      role: url.searchParams.get('roleName') ?? undefined,
    };
    const failure = this.checkCredentials(user, account, authenticator, data);
    this.logins.push({ user, account, authenticator, ...where, ok: failure === undefined, code: failure?.code ?? null });
    if (failure) {
      return send(res, { success: false, code: failure.code, message: failure.message, data: { nextAction: 'RETRY_LOGIN', authnMethod: authenticator, signInOptions: {} } });
    }
    const session: Session = { id: this.nextSessionId++, user: user.toUpperCase(), token: `session-${randomUUID()}`, masterToken: `master-${randomUUID()}`, ...where };
    this.sessions.set(session.token, session);
    this.masterTokens.set(session.masterToken, session);
    send(res, {
      success: true,
      code: null,
      message: null,
      data: {
        token: session.token,
        validityInSeconds: 3600,
        masterToken: session.masterToken,
        masterValidityInSeconds: 14400,
        sessionId: session.id,
        displayUserName: session.user,
        serverVersion: '9.99.0-stand-in',
        firstLogin: false,
        remMeToken: null,
        remMeValidityInSeconds: 0,
        healthCheckInterval: 45,
        newClientForUpgrade: null,
        parameters: [
          { name: 'CLIENT_SESSION_KEEP_ALIVE', value: false },
          { name: 'CLIENT_SESSION_KEEP_ALIVE_HEARTBEAT_FREQUENCY', value: 3600 },
          { name: 'QUERY_CONTEXT_CACHE_SIZE', value: 5 },
          { name: 'TIMEZONE', value: 'UTC' },
        ],
        sessionInfo: {
          databaseName: where.database ?? null,
          schemaName: where.schema ?? null,
          warehouseName: where.warehouse ?? null,
          roleName: where.role ?? 'PUBLIC',
        },
      },
    });
  }

  private checkCredentials(user: string, account: string, authenticator: string, data: Body): { code: string; message: string } | undefined {
    const spec = this.users.get(user.toUpperCase());
    if (account.toUpperCase() !== this.account) return LOGIN_ERRORS.password;
    switch (authenticator) {
      case 'SNOWFLAKE':
        return spec?.password !== undefined && data['PASSWORD'] === spec.password ? undefined : LOGIN_ERRORS.password;
      case 'OAUTH':
        return spec?.oauthToken !== undefined && data['TOKEN'] === spec.oauthToken ? undefined : LOGIN_ERRORS.oauth;
      case 'WORKLOAD_IDENTITY':
        return spec?.workloadIdentityToken !== undefined && data['PROVIDER'] === 'AZURE' && data['TOKEN'] === spec.workloadIdentityToken ? undefined : LOGIN_ERRORS.wif;
      case 'SNOWFLAKE_JWT': {
        if (!spec?.publicKeyPem || typeof data['TOKEN'] !== 'string') return LOGIN_ERRORS.jwt;
        return verifyJwt(data['TOKEN'], createPublicKey(spec.publicKeyPem), this.account, user.toUpperCase()) ? undefined : LOGIN_ERRORS.jwt;
      }
      default:
        return LOGIN_ERRORS.unsupported;
    }
  }

  // ── Queries ───────────────────────────────────────────────────────────────────────────────────

  private findScript(sql: string): { script: QueryScript; executions: number; httpAnswered: number } | undefined {
    for (let i = this.scripts.length - 1; i >= 0; i -= 1) {
      const entry = this.scripts[i];
      if (!entry) continue;
      const { match } = entry.script;
      const hit = typeof match === 'string' ? sql.includes(match) : match instanceof RegExp ? match.test(sql) : match(sql);
      if (hit) return entry;
    }
    return undefined;
  }

  private queryRequest(url: URL, body: Body, session: Session, res: ServerResponse): void {
    const sql = str(body['sqlText']);
    // A request id this *session* has seen answers with the query it started, without running it
    // again. Request ids are per session: snowflake-sdk's own integration test
    // (test/integration/testExecute.js, "Execute INSERT for the same request id and different
    // connection") expects the same request id sent on a second connection to run the INSERT a
    // second time, and on the same connection not to.
    const requestId = url.searchParams.get('requestId') ?? undefined;
    const earlier = requestId === undefined ? undefined : this.queries.find((q) => q.requestId === requestId && q.sessionId === session.id);
    if (earlier) {
      this.resubmissions += 1;
      if (isRunning(earlier.status) || earlier.asyncExec) {
        const code = earlier.asyncExec ? '333334' : '333333';
        return send(res, { success: true, code, message: 'Query execution in progress.', data: { queryId: earlier.id, getResultUrl: `/queries/${earlier.id}/result` } });
      }
      return this.answerFinished(earlier, session, res);
    }
    const metadata = isMetadataQuery(sql);
    const entry = metadata ? undefined : this.findScript(sql);
    const script = entry?.script;
    if (entry && script?.httpStatus !== undefined && entry.httpAnswered < (script.httpTimes ?? Infinity)) {
      entry.httpAnswered += 1;
      res.writeHead(script.httpStatus, { 'content-type': 'text/plain' });
      res.end('stand-in: scripted HTTP failure');
      return;
    }
    const scripted = script?.result;
    let outcome: QueryRecord['outcome'] = { kind: 'result', result: (typeof scripted === 'function' ? scripted(sql) : scripted) ?? DEFAULT_RESULT };
    if (entry && script?.error && (script.failTimes === undefined || entry.executions < script.failTimes)) {
      outcome = { kind: 'error', error: script.error };
    }
    if (metadata) {
      const bindings = body['bindings'] as QueryRecord['bindings'];
      const answer = answerMetadataQuery(sql, bindings, { sessionId: session.id, user: session.user, warehouse: session.warehouse }, this.queries, this.historyView, this.parameters);
      outcome = 'result' in answer ? { kind: 'result', result: answer.result } : { kind: 'error', error: answer.error };
    }
    if (entry) entry.executions += 1;
    const cancel = /SYSTEM\$CANCEL_QUERY/i.test(sql) ? this.cancelFromBindings(body) : undefined;
    if (cancel) outcome = { kind: 'result', result: { columns: [{ name: 'SYSTEM$CANCEL_QUERY(?)', type: 'text' }], rows: [[cancel]], statementTypeId: 0x1000 } };

    const record: QueryRecord = {
      id: randomUUID(),
      requestId,
      sql,
      bindings: body['bindings'] as QueryRecord['bindings'],
      parameters: (body['parameters'] ?? {}) as Record<string, unknown>,
      asyncExec: body['asyncExec'] === true,
      sessionId: session.id,
      user: session.user,
      status: 'RUNNING',
      remainingPolls: script?.runningPolls ?? script?.runningStatuses?.length ?? 0,
      unknownPolls: script?.unknownPolls ?? 0,
      noDataPolls: script?.noDataPolls ?? 0,
      runningChecks: 0,
      runningStatuses: script?.runningStatuses ?? [script?.runningStatus ?? 'RUNNING'],
      endsAborted: script?.endsAborted ?? false,
      startedAt: this.queries.length,
      outcome,
    };
    this.queries.push(record);
    this.queryById.set(record.id, record);
    if (record.remainingPolls === 0) this.finish(record);

    if (isRunning(record.status)) {
      const code = record.asyncExec ? '333334' : '333333';
      const message = record.asyncExec
        ? 'Asynchronous execution in progress. Use provided query id to perform query monitoring and management.'
        : 'Query execution in progress. Query will be continued to be executed.';
      return send(res, { success: true, code, message, data: { queryId: record.id, getResultUrl: `/queries/${record.id}/result` } });
    }
    this.answerFinished(record, session, res);
  }

  private cancelFromBindings(body: Body): string | undefined {
    const bindings = body['bindings'] as Record<string, { value: unknown }> | undefined;
    const target = bindings?.['1']?.value;
    if (typeof target !== 'string') return undefined;
    const q = this.queryById.get(target);
    if (q && isRunning(q.status)) q.status = 'ABORTED';
    return `query [${target}] terminated.`;
  }

  private finish(record: QueryRecord): void {
    if (record.status === 'ABORTED') return;
    record.status = record.endsAborted ? 'ABORTED' : record.outcome.kind === 'error' ? 'FAILED_WITH_ERROR' : 'SUCCESS';
  }

  /** The status a running query shows: its scripted statuses, one per check, the last repeating. */
  private runningStatusOf(record: QueryRecord): string {
    const statuses = record.runningStatuses;
    return statuses[Math.min(Math.max(record.runningChecks - 1, 0), statuses.length - 1)] ?? 'RUNNING';
  }

  /** How QUERY_HISTORY reports a query (metadata.ts): it lists fewer statuses than monitoring. */
  private readonly historyView = {
    executionStatus: (q: QueryRecord): string => {
      if (q.status === 'ABORTED') return 'FAILED_WITH_ERROR';
      if (!isRunning(q.status)) return q.status;
      const shown = this.runningStatusOf(q);
      return ['QUEUED', 'BLOCKED', 'RESUMING_WAREHOUSE'].includes(shown) ? shown : 'RUNNING';
    },
    errorOf: (q: QueryRecord): SnowflakeErrorSpec | undefined =>
      q.status === 'ABORTED' ? SNOWFLAKE_ERRORS.canceled : q.status === 'FAILED_WITH_ERROR' && q.outcome.kind === 'error' ? q.outcome.error : undefined,
  };

  /**
   * A status check or result fetch of a running query counts as one poll: the first
   * `runningPolls` of them see it running, the next one finishes it.
   */
  private tick(record: QueryRecord): void {
    if (!isRunning(record.status)) return;
    if (record.remainingPolls > 0) {
      record.remainingPolls -= 1;
      record.runningChecks += 1;
    } else this.finish(record);
  }

  private queryStatus(queryId: string, res: ServerResponse): void {
    const record = this.queryById.get(queryId);
    if (!record) return send(res, { success: true, code: null, message: null, data: { queries: [] } });
    if (record.unknownPolls > 0) {
      record.unknownPolls -= 1;
      return send(res, { success: true, code: null, message: null, data: { queries: [] } });
    }
    if (record.noDataPolls > 0) {
      record.noDataPolls -= 1;
      return send(res, { success: true, code: null, message: null, data: { queries: [{ id: record.id, status: 'NO_DATA', state: 'NO_DATA', sqlText: record.sql, sessionId: record.sessionId, errorCode: null, errorMessage: null }] } });
    }
    this.tick(record);
    const running = isRunning(record.status);
    const error = this.historyView.errorOf(record);
    send(res, {
      success: true,
      code: null,
      message: null,
      data: {
        queries: [
          {
            id: record.id,
            status: running ? this.runningStatusOf(record) : record.status,
            state: running ? 'RUNNING' : record.status === 'SUCCESS' ? 'SUCCEEDED' : 'FAILED',
            sqlText: record.sql,
            sessionId: record.sessionId,
            errorCode: error?.code ?? null,
            errorMessage: error?.message ?? null,
          },
        ],
      },
    });
  }

  private queryResult(queryId: string, res: ServerResponse): void {
    const record = this.queryById.get(queryId);
    if (!record) {
      return send(res, { success: false, code: '000709', message: `Statement ${queryId} not found`, data: { queryId, sqlState: '02000', errorCode: '000709', age: 0 } });
    }
    this.tick(record);
    if (isRunning(record.status)) {
      return send(res, { success: true, code: '333333', message: 'Query execution in progress. Query will be continued to be executed.', data: { queryId, getResultUrl: `/queries/${queryId}/result` } });
    }
    const session = [...this.sessions.values()].find((s) => s.id === record.sessionId);
    this.answerFinished(record, session, res);
  }

  private answerFinished(record: QueryRecord, session: Session | undefined, res: ServerResponse): void {
    if (record.status === 'ABORTED') {
      const { code, message, sqlState } = SNOWFLAKE_ERRORS.canceled;
      return send(res, { success: false, code, message, data: { queryId: record.id, sqlState, errorCode: code, age: 0 } });
    }
    if (record.outcome.kind === 'error') {
      const { error } = record.outcome;
      return send(res, {
        success: false,
        code: error.code,
        message: error.message,
        data: { queryId: record.id, sqlState: error.sqlState ?? '42000', errorCode: error.code, age: 0, internalError: false, errorType: 'COMPILATION', type: 'COMPILATION' },
      });
    }
    const { result } = record.outcome;
    send(res, {
      success: true,
      code: null,
      message: null,
      data: {
        parameters: [{ name: 'TIMEZONE', value: 'UTC' }],
        rowtype: result.columns.map((c) => rowType(c)),
        rowset: result.rows.map((row) => row.map(wireValue)),
        total: result.rows.length,
        returned: result.rows.length,
        queryId: record.id,
        databaseProvider: null,
        finalDatabaseName: session?.database ?? null,
        finalSchemaName: session?.schema ?? null,
        finalWarehouseName: session?.warehouse ?? null,
        finalRoleName: session?.role ?? 'PUBLIC',
        numberOfBinds: Object.keys(record.bindings ?? {}).length,
        arrayBindSupported: false,
        statementTypeId: result.statementTypeId ?? 0x1000,
        version: 1,
        sendResultTime: Date.now(),
        queryResultFormat: 'json',
        queryContext: { entries: [] },
      },
    });
  }
}

// ── Helpers ───────────────────────────────────────────────────────────────────────────────────────

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function isRunning(status: string): boolean {
  return status === 'RUNNING';
}

function rowType(column: ColumnSpec): Body {
  const numeric = column.type === 'fixed' || column.type === 'real';
  return {
    name: column.name,
    database: '',
    schema: '',
    table: '',
    type: column.type,
    nullable: true,
    byteLength: column.type === 'text' ? 16777216 : null,
    length: column.type === 'text' ? 16777216 : null,
    precision: numeric ? 38 : null,
    scale: column.type === 'fixed' ? 0 : null,
    collation: null,
  };
}

/** Snowflake's JSON result format carries every value as text (or null). */
function wireValue(value: CellValue): string | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

function send(res: ServerResponse, body: Body): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const buffer = Buffer.concat(chunks);
  if (buffer.length === 0) return '';
  const encoding = req.headers['content-encoding'];
  if (encoding === 'gzip') {
    const { gunzipSync } = await import('node:zlib');
    return gunzipSync(buffer).toString('utf8');
  }
  return buffer.toString('utf8');
}

/** RS256 JWT signed by the user's registered key, issued as `ACCOUNT.USER.SHA256:<fingerprint>`. */
export function verifyJwt(token: string, publicKey: KeyObject, account: string, user: string): boolean {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return false;
  let claims: Body;
  try {
    const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Body;
    if (head['alg'] !== 'RS256') return false;
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Body;
  } catch {
    return false;
  }
  const signed = verify('sha256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'));
  if (!signed) return false;
  if (claims['iss'] !== `${account}.${user}.${publicKeyFingerprint(publicKey)}`) return false;
  if (claims['sub'] !== `${account}.${user}`) return false;
  // The driver writes iat/exp in milliseconds; accept seconds too.
  const exp = Number(claims['exp']);
  const expMs = exp > 1e12 ? exp : exp * 1000;
  return Number.isFinite(expMs) && expMs > Date.now();
}

export function publicKeyFingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

/** The result set COPY INTO returns: one row per file. */
export interface CopyFileRow {
  file: string;
  status: 'LOADED' | 'LOAD_FAILED' | 'PARTIALLY_LOADED' | 'LOAD_SKIPPED';
  rowsParsed: number;
  rowsLoaded: number;
  errorLimit?: number;
  errorsSeen?: number;
  firstError?: string | null;
  firstErrorLine?: number | null;
  firstErrorCharacter?: number | null;
  firstErrorColumnName?: string | null;
}

/**
 * COPY INTO's answer. With files, one row per file (docs.snowflake.com, COPY INTO <table>, "Output").
 * With nothing new to load (every file already in the load metadata, or none matched), Snowflake
 * answers a single `status` column and row instead: "Copy executed with 0 files processed." That
 * text is what Snowflake prints and users quote; the COPY INTO reference page reachable here does
 * not spell it out, so the exact wording is unverified against the docs.
 */
export function copyIntoResult(files: readonly CopyFileRow[]): ResultSpec {
  if (files.length === 0) {
    return { statementTypeId: 0x3000, columns: [{ name: 'status', type: 'text' }], rows: [['Copy executed with 0 files processed.']] };
  }
  return {
    statementTypeId: 0x3000,
    columns: [
      { name: 'file', type: 'text' },
      { name: 'status', type: 'text' },
      { name: 'rows_parsed', type: 'fixed' },
      { name: 'rows_loaded', type: 'fixed' },
      { name: 'error_limit', type: 'fixed' },
      { name: 'errors_seen', type: 'fixed' },
      { name: 'first_error', type: 'text' },
      { name: 'first_error_line', type: 'fixed' },
      { name: 'first_error_character', type: 'fixed' },
      { name: 'first_error_column_name', type: 'text' },
    ],
    rows: files.map((f) => [
      f.file,
      f.status,
      f.rowsParsed,
      f.rowsLoaded,
      f.errorLimit ?? f.rowsParsed,
      f.errorsSeen ?? 0,
      f.firstError ?? null,
      f.firstErrorLine ?? null,
      f.firstErrorCharacter ?? null,
      f.firstErrorColumnName ?? null,
    ]),
  };
}
