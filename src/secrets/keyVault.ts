/**
 * Secrets from Azure Key Vault through the SDK's SecretClient.
 *
 * Retries: the SDK's pipeline retries 429 and 503 *when they carry* Retry-After (or
 * retry-after-ms), and 408/5xx/network errors with exponential backoff. A 429 without Retry-After
 * falls through both (@azure/core-rest-pipeline: throttlingRetryStrategy skips a response with no
 * Retry-After, exponentialRetryStrategy only takes 408 and 5xx), and that is what Key Vault was
 * seen sending when a vault's request-type limit is reached ("Reason:
 * VaultRequestTypeLimitReached", no Retry-After: vcsjones/AzureSignTool#219). Key Vault's
 * throttling guidance asks for exponential backoff on 429 (learn.microsoft.com "Azure Key Vault
 * throttling guidance"), so `bareThrottleRetryPolicy` adds it, in the SDK's own retry policy with a
 * strategy for that one case. Errors that reach us have used those retries and are only
 * classified here; the step's own retry policy takes it from there.
 */
import { retryPolicy, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { calculateRetryDelay } from '@azure/core-util';
import type { SecretClient } from '@azure/keyvault-secrets';
import { PermanentError, RetryAfterError, TransientError, type ClassifiedError } from '../core/errors';
import { parseRetryAfterSeconds } from '../core/retryAfter';
import type { SecretSource } from './cache';

export interface KeyVaultRetryOptions {
  /** Retries after the first try (SDK default 3); also the bound for a 429 without Retry-After. */
  readonly maxRetries?: number;
  /** First exponential delay (SDK default 1000 ms); Retry-After overrides it on 429/503. */
  readonly retryDelayInMs?: number;
  readonly maxRetryDelayInMs?: number;
  /** First delay after a 429 without Retry-After, doubled each time up to `maxRetryDelayInMs`, with jitter. */
  readonly throttledRetryDelayInMs?: number;
}

export const DEFAULT_KEY_VAULT_RETRY: Required<KeyVaultRetryOptions> = { maxRetries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 8000, throttledRetryDelayInMs: 1000 };

const RETRY_AFTER_HEADERS = ['retry-after', 'retry-after-ms', 'x-ms-retry-after-ms'];

/**
 * Retries a 429 that names no time to wait, with exponential backoff and jitter (1 s, 2 s, 4 s by
 * default). Added per call, around the SDK's own retry policy, which hands such a response back
 * untouched; a 429 with Retry-After stays the SDK's to honour.
 */
export function bareThrottleRetryPolicy(options: KeyVaultRetryOptions = {}): PipelinePolicy {
  const settings = { ...DEFAULT_KEY_VAULT_RETRY, ...options };
  return retryPolicy(
    [
      {
        name: 'keyVaultBareThrottle',
        retry({ retryCount, response }) {
          if (response?.status !== 429 || RETRY_AFTER_HEADERS.some((h) => response.headers.get(h) !== undefined)) return { skipStrategy: true };
          return calculateRetryDelay(retryCount, { retryDelayInMs: settings.throttledRetryDelayInMs, maxRetryDelayInMs: settings.maxRetryDelayInMs });
        },
      },
    ],
    { maxRetries: settings.maxRetries },
  );
}

export function keyVaultSource(client: SecretClient): SecretSource {
  const description = `Key Vault ${client.vaultUrl}`;
  return {
    description,
    async read(name: string): Promise<string> {
      let value: string | undefined;
      try {
        value = (await client.getSecret(name)).value;
      } catch (error) {
        throw classifyKeyVaultError(name, description, error);
      }
      if (value === undefined) throw new PermanentError(`secret "${name}" in ${description} has no value`, { code: 'SecretEmpty' });
      return value;
    },
  };
}

interface RestErrorLike {
  readonly name: string;
  readonly message: string;
  readonly statusCode?: number;
  readonly code?: string;
  readonly response?: { readonly headers: { get(name: string): string | undefined } };
  /** The parsed error body: `{ error: { code, message, innerError: { code } } }`. */
  readonly details?: unknown;
}

/**
 * Key Vault's inner error code, the part that tells one 403 from another: `SecretDisabled` for a
 * GET of a disabled secret, where a missing role gives `ForbiddenByRbac` (the body is
 * `{ error: { code: 'Forbidden', message, innerError: { code } } }`; learn.microsoft.com "Azure Key
 * Vault REST API Error Codes", and Azure/azure-sdk-for-js#24756 for the body a disabled secret gets).
 */
function innerErrorCode(details: unknown): string | undefined {
  const inner = (details as { error?: { innerError?: { code?: unknown }; innererror?: { code?: unknown } } } | undefined)?.error;
  const code = inner?.innerError?.code ?? inner?.innererror?.code;
  return typeof code === 'string' ? code : undefined;
}

function asRecord(error: unknown): Partial<RestErrorLike> {
  return typeof error === 'object' && error !== null ? error : {};
}

/**
 * Not found / forbidden / bad credentials are permanent; throttling that outlasted the SDK's
 * retries, 5xx and network failures are transient. The SDK error is not kept as `cause`: it holds
 * the request (with its bearer token) and nothing a user needs beyond status and code.
 */
export function classifyKeyVaultError(name: string, description: string, error: unknown): ClassifiedError {
  const e = asRecord(error);
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const what = `reading secret "${name}" from ${description}`;
  const detail = [status, code].filter((x) => x !== undefined).join(' ');
  const codeText = code ?? (status === undefined ? undefined : String(status));
  const opts = codeText === undefined ? {} : { code: codeText };

  if (e.name === 'CredentialUnavailableError') {
    return new PermanentError(`${what}: no Azure credential is available (managed identity or az login)`, { code: 'CredentialUnavailable' });
  }
  if (e.name === 'AuthenticationError') {
    const transient = status === undefined || status === 429 || status >= 500;
    const message = `${what}: getting an access token failed${status === undefined ? '' : ` (${status})`}`;
    return transient ? new TransientError(message, { code: 'AuthenticationError' }) : new PermanentError(message, { code: 'AuthenticationError' });
  }
  if (status === undefined) {
    return new TransientError(`${what}: network error${code ? ` (${code})` : ''}`, opts);
  }
  if (status === 404) return new PermanentError(`${what}: not found (${detail})`, opts);
  if (status === 403 && innerErrorCode(e.details) === 'SecretDisabled') {
    return new PermanentError(`${what}: the secret is disabled; enable it in the vault (or add an enabled version)`, { code: 'SecretDisabled' });
  }
  if (status === 401 || status === 403) return new PermanentError(`${what}: access denied (${detail}); grant the app's identity "Key Vault Secrets User"`, opts);
  if (status === 429 || status === 503) {
    const retryAfter = parseRetryAfterSeconds(e.response?.headers.get('retry-after'), Date.now());
    const message = `${what}: throttled after retries (${detail})`;
    return retryAfter === undefined ? new TransientError(message, opts) : new RetryAfterError(message, retryAfter, opts);
  }
  if (status === 408 || status >= 500) return new TransientError(`${what}: service error (${detail})`, opts);
  return new PermanentError(`${what}: request rejected (${detail})`, opts);
}
