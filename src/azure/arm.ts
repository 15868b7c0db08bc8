/**
 * A minimal Azure Resource Manager client over fetch: bearer token from the managed identity, ARM's
 * `{ error: { code, message } }` envelope turned into classified errors, one retry with a fresh token
 * when ARM says 401. `AZURE_RESOURCE_MANAGER_URL` points it elsewhere (sovereign clouds, tests).
 */
import { PermanentError } from '../core/errors';
import { AuthRejectedError, failureFor, isSuccess, send, type Fetch, type HttpReply } from './http';
import { scopeFor, type TokenSource } from './tokens';

export interface ArmClient {
  readonly baseUrl: string;
  /** `path` is a resource id plus suffix, e.g. `/subscriptions/…/jobs/x/start`. Non-2xx replies throw. */
  call(method: 'GET' | 'POST', path: string, apiVersion: string, json?: unknown): Promise<HttpReply>;
  /** GETs an absolute URL ARM handed back (a `Location` header); only on ARM's own origin. */
  follow(url: string): Promise<HttpReply>;
}

export function createArmClient(options: { baseUrl: string; tokens: TokenSource; fetch: Fetch }): ArmClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const origin = new URL(base).origin;
  const scope = scopeFor(base);

  async function authorized(method: 'GET' | 'POST', url: string, json: unknown, what: string): Promise<HttpReply> {
    for (let round = 0; ; round++) {
      const token = await options.tokens.token(scope);
      const reply = await send(options.fetch, { method, url, headers: { authorization: `Bearer ${token}` }, json }, what);
      if (isSuccess(reply)) return reply;
      const error = failureFor(reply, what, armErrorDetail(reply));
      // A 401 may be a token revoked or rotated early: one more try with a new one.
      if (error instanceof AuthRejectedError && reply.status === 401 && round === 0) {
        options.tokens.forget(scope);
        continue;
      }
      throw error;
    }
  }

  return {
    baseUrl: base,
    call(method, path, apiVersion, json) {
      const url = `${base}${path}${path.includes('?') ? '&' : '?'}api-version=${encodeURIComponent(apiVersion)}`;
      return authorized(method, url, json, `ARM ${method} ${path}`);
    },
    follow(url) {
      // The bearer token goes to ARM only, whatever a header says.
      if (new URL(url).origin !== origin) {
        return Promise.reject(new PermanentError(`ARM returned a Location outside ${origin}; not following it`, { code: 'BAD_LOCATION' }));
      }
      return authorized('GET', url, undefined, 'ARM operation status');
    },
  };
}

/** `Code: message` from ARM's error envelope, if the body has one. */
export function armErrorDetail(reply: HttpReply): string | undefined {
  try {
    const body = JSON.parse(reply.text) as { error?: { code?: unknown; message?: unknown } };
    const code = typeof body.error?.code === 'string' ? body.error.code : undefined;
    const message = typeof body.error?.message === 'string' ? body.error.message : undefined;
    if (code === undefined && message === undefined) return undefined;
    return [code, message].filter((p) => p !== undefined).join(': ');
  } catch {
    return undefined;
  }
}
