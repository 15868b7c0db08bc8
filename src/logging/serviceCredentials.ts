/**
 * Credentials a *service* puts in its answer (a SAS token, a `sig=` download URL, a connection
 * string, a password field): values the app never read from Key Vault, so `maskSecrets` cannot know
 * them. The rule, applied on the server to everything a step reports (its output, its run-log lines,
 * its failure messages) before the run store or Durable keeps it, and again to run views and log
 * pages the API answers (records written before the rule):
 *
 * - a value under a credential-like name (`password`, `secret`, `token`, `sas`, `sig`, `*key`,
 *   `connectionString`, `credential`, `authorization`, `cookie`, …) is replaced by `***` — strings
 *   only, so a count such as `tokens_used: 12` stays a metric;
 * - in any text: URL credentials (`?code=`, `sig=`, `user:password@`, see `maskUrlCredentials`),
 *   connection-string pairs (`AccountKey=…;`, `SharedAccessSignature=…`, `Password=…`), JSON pairs
 *   with a credential-like name inside a text, `Bearer …` / `Basic …` values and JWTs.
 *
 * Nobody sees them, operators included: a credential handed back by a service has no use in a run
 * record (ADF's "secure output" hides a whole activity output the same way).
 */
import { MASK, maskUrlCredentials } from './mask';

/** Names compared lowercased with separators removed: `sas_token`, `SasToken` and `sas-token` alike. */
const CREDENTIAL_WORDS = /password|passwd|passphrase|secret|token|credential|connectionstring|signature|apikey|privatekey|authorization|cookie/;
const CREDENTIAL_SUFFIX = /(?:pwd|sas|sig|key)$/;

export function isCredentialName(name: string): boolean {
  const flat = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return CREDENTIAL_WORDS.test(flat) || CREDENTIAL_SUFFIX.test(flat) || flat.startsWith('sas');
}

/** `AccountKey=…;`, `SharedAccessSignature=…`, `Password=…` and a bare SAS `sig=…`, at the start of a text or after `;`, `&`, space or `?`. */
const CONNECTION_PAIR = /(^|[\s;?&"'(,])(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret|AccessKey|sig)=([^;&\s"'<>),]+)/gi;
/** A JSON pair inside a text: `"password": "…"`. */
const JSON_PAIR = /"((?:[^"\\]|\\.){1,80})"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
const AUTH_SCHEME = /\b(Bearer|Basic|Token|SharedAccessSignature)(\s+)[A-Za-z0-9._~+/=%-]{8,}/g;
const JWT = /\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*/g;

/** A text with every credential it carries masked (see the module comment). Linear in the text's length. */
export function maskCredentialText(text: string): string {
  if (text.length === 0) return text;
  return maskUrlCredentials(text)
    .replace(CONNECTION_PAIR, (_m, before: string, name: string) => `${before}${name}=${MASK}`)
    .replace(JSON_PAIR, (match, name: string, colon: string) => (isCredentialName(name) ? `"${name}"${colon}"${MASK}"` : match))
    .replace(AUTH_SCHEME, (_m, scheme: string, space: string) => `${scheme}${space}${MASK}`)
    .replace(JWT, MASK);
}

/**
 * A JSON-like value with credentials masked, keeping its shape: strings through
 * `maskCredentialText`, string values under credential-like names (at any depth below them) as
 * `***`. Numbers, booleans and null are kept. Returns a copy; the input is not changed.
 */
export function maskCredentials<T>(value: T): T {
  return walk(value, false, 0) as T;
}

const MAX_DEPTH = 100;

function walk(value: unknown, underCredential: boolean, depth: number): unknown {
  if (typeof value === 'string') return underCredential && value !== '' ? MASK : maskCredentialText(value);
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => walk(item, underCredential, depth + 1));
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // defineProperty: a `__proto__` key parsed from JSON stays a plain field of the copy.
    Object.defineProperty(out, key, { value: walk(item, underCredential || isCredentialName(key), depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
