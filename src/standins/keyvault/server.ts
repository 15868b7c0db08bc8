/**
 * A Key Vault stand-in speaking the secrets REST API over HTTPS (test CA, see src/standins/tls) to
 * the unmodified SecretClient:
 *   GET /secrets/{name}/?api-version=…            latest version
 *   GET /secrets/{name}/{version}?api-version=…   one version
 * with the challenge-auth flow the SDK expects: a request without a bearer token gets 401 and
 * `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
 * resource="https://vault.azure.net"`; the SDK then asks its credential for a token and retries.
 * Scriptable 429, with or without Retry-After; counts reads per secret.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { testTls } from '../tls/testCa';

export const STANDIN_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const STANDIN_TOKEN = 'standin-access-token';

export interface KeyVaultRequest {
  readonly at: number;
  readonly name: string;
  readonly version: string | undefined;
  /** 401 = challenge (no token), 429 = throttled, 503 = scripted outage, 403 = disabled, 200/404 = answered. */
  readonly status: number;
}

export interface KeyVaultStandIn {
  /** Vault URL for SecretClient, e.g. https://127.0.0.1:51234/ */
  readonly url: string;
  /** PEM of the CA that signed the server certificate. */
  readonly ca: string;
  readonly requests: readonly KeyVaultRequest[];
  /** Authenticated GETs that reached the secret (served, 404 or throttled), per name. */
  reads(name: string): number;
  totalReads(): number;
  /** Adds a new version (rotation); returns the version id. */
  setSecret(name: string, value: string): string;
  /** Enables or disables the secret's current version (`attributes.enabled`, as `az keyvault secret set-attributes --enabled`). */
  setEnabled(name: string, enabled: boolean): void;
  /**
   * The next `times` authenticated GETs (of `name`, or of any secret) answer 429. With
   * `retryAfterSeconds`, a `Retry-After` header says when to come back; without it the answer is
   * the one Key Vault was seen sending when a vault's request-type limit is reached: no
   * Retry-After, body `{"error":{"code":"Throttled","message":"Request was not processed because
   * too many requests were received. Reason: VaultRequestTypeLimitReached"}}` (the full response,
   * headers included, is quoted in vcsjones/AzureSignTool#219). Which of the two a throttled vault
   * sends is not documented: tests use both.
   */
  throttle(times: number, retryAfterSeconds: number | undefined, name?: string): void;
  /** The next `times` authenticated GETs answer 503 ServiceUnavailable (a vault's transient outage). */
  unavailable(times: number): void;
  /** Ends every scripted 429 and 503 still to come. */
  calm(): void;
  close(): Promise<void>;
}

export interface KeyVaultStandInOptions {
  readonly secrets?: Readonly<Record<string, string>>;
  /** Extra delay on every answer, to model a real vault's round trip (default 0). */
  readonly latencyMs?: number;
  /** The bearer token accepted (default STANDIN_TOKEN). */
  readonly token?: string;
}

interface Version {
  readonly id: string;
  readonly value: string;
  readonly created: number;
  enabled: boolean;
}

export async function startKeyVaultStandIn(options: KeyVaultStandInOptions = {}): Promise<KeyVaultStandIn> {
  const tls = testTls();
  const token = options.token ?? STANDIN_TOKEN;
  const store = new Map<string, Version[]>();
  const requests: KeyVaultRequest[] = [];
  const outage = { left: 0 };
  const throttles: { name: string | undefined; left: number; retryAfter: number | undefined }[] = [];
  let base = '';

  const setSecret = (name: string, value: string): string => {
    const version = randomUUID().replace(/-/g, '');
    const versions = store.get(name.toLowerCase()) ?? [];
    versions.push({ id: version, value, created: Math.floor(Date.now() / 1000), enabled: true });
    store.set(name.toLowerCase(), versions);
    return version;
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) setSecret(name, value);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const write = () => {
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-ms-keyvault-service-version': '1.9.0.0',
        'x-ms-request-id': randomUUID(),
        'content-length': Buffer.byteLength(text),
        ...headers,
      });
      res.end(text);
    };
    if (options.latencyMs) setTimeout(write, options.latencyMs);
    else write();
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    const match = /^\/secrets\/([0-9A-Za-z-]{1,127})\/?([0-9a-f]{32})?\/?$/.exec(url.pathname);
    if (req.method !== 'GET' || !match || !url.searchParams.get('api-version')) {
      send(res, 400, { error: { code: 'BadParameter', message: 'The request URI is not supported by this stand-in.' } });
      return;
    }
    const name = match[1]!;
    const version = match[2];
    const record = (status: number) => requests.push({ at: Date.now(), name: name.toLowerCase(), version, status });

    if (req.headers.authorization !== `Bearer ${token}`) {
      record(401);
      send(res, 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${STANDIN_TENANT}", resource="https://vault.azure.net"`,
      });
      return;
    }
    if (outage.left > 0) {
      outage.left -= 1;
      record(503);
      send(res, 503, { error: { code: 'ServiceUnavailable', message: 'The service is currently unavailable.' } }, {});
      return;
    }
    const throttle = throttles.find((t) => t.left > 0 && (t.name === undefined || t.name === name.toLowerCase()));
    if (throttle) {
      throttle.left -= 1;
      record(429);
      if (throttle.retryAfter === undefined) {
        send(res, 429, { error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' } }, {
          'cache-control': 'no-cache',
          pragma: 'no-cache',
          expires: '-1',
        });
        return;
      }
      send(res, 429, { error: { code: 'Throttled', message: 'Request was not processed because too many requests were received.' } }, {
        'retry-after': String(throttle.retryAfter),
      });
      return;
    }
    const versions = store.get(name.toLowerCase()) ?? [];
    const found = version === undefined ? versions.at(-1) : versions.find((v) => v.id === version);
    if (!found) {
      record(404);
      send(res, 404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name} was not found in this key vault.` } });
      return;
    }
    if (!found.enabled) {
      // What Key Vault answers a GET of a disabled secret: 403 Forbidden with the inner error code
      // SecretDisabled (quoted in Azure/azure-sdk-for-js#24756 and ansible-collections/azure#1989).
      // On the wire the inner error is `innererror`: @azure/keyvault-secrets models.js
      // (_keyVaultErrorErrorDeserializer) reads item["innererror"] into `innerError`.
      record(403);
      send(res, 403, { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } });
      return;
    }
    record(200);
    send(res, 200, {
      value: found.value,
      id: `${base}secrets/${name}/${found.id}`,
      attributes: { enabled: found.enabled, created: found.created, updated: found.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: {},
    });
  };

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const authenticated = (r: KeyVaultRequest) => r.status !== 401;
  return {
    url: base,
    ca: tls.ca,
    requests,
    reads: (name) => requests.filter((r) => authenticated(r) && r.name === name.toLowerCase()).length,
    totalReads: () => requests.filter(authenticated).length,
    setSecret,
    setEnabled: (name, enabled) => {
      const current = store.get(name.toLowerCase())?.at(-1);
      if (current) current.enabled = enabled;
    },
    unavailable: (times) => {
      outage.left = times;
    },
    calm: () => {
      outage.left = 0;
      for (const t of throttles) t.left = 0;
    },
    throttle: (times, retryAfterSeconds, name) => throttles.push({ name: name?.toLowerCase(), left: times, retryAfter: retryAfterSeconds }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A TokenCredential that hands out the stand-in's token (no Entra ID here). */
export const standInCredential = {
  getToken: (): Promise<{ token: string; expiresOnTimestamp: number }> =>
    Promise.resolve({ token: STANDIN_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** SecretClient options that trust the test CA and accept the stand-in's challenge resource. */
export function standInClientOptions(standIn: Pick<KeyVaultStandIn, 'ca'>) {
  return {
    tlsOptions: { ca: standIn.ca },
    disableChallengeResourceVerification: true,
  } as const;
}
