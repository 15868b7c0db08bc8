/**
 * Secret values resolved in this process, so any text leaving an activity (error, log line, output)
 * can have them masked. Values shorter than 4 characters are not tracked: masking them would
 * shred ordinary text.
 *
 * A value is also masked in the forms it takes when it travels inside other text: URL-encoded (a
 * key in a query string) and JSON-escaped (a PEM key inside a serialized body or log line). Longer
 * forms are replaced first, so a secret that contains another secret is masked whole.
 */
export const MASK = '***';

const known = new Set<string>();
/** Every form of every known value, longest first; rebuilt lazily after a change. */
let forms: string[] | undefined;
/**
 * A bound on the values kept, so a process that lives through many rotations does not grow without
 * end. Far above what one app holds at once (each secret name has one current value, re-remembered
 * at every read), so what is forgotten first is a value rotated out long ago.
 */
export const MAX_KNOWN_SECRET_VALUES = 1000;

export function rememberSecretValue(value: string): void {
  if (value.length < 4) return;
  if (!known.has(value)) forms = undefined;
  // Most recently read last: eviction takes the values no read has returned for longest.
  known.delete(value);
  known.add(value);
  for (const part of credentialParts(value)) rememberSecretValue(part);
  for (const oldest of known) {
    if (known.size <= MAX_KNOWN_SECRET_VALUES) break;
    known.delete(oldest);
    forms = undefined;
  }
}

/**
 * Query parameters that carry a credential inside a URL: Azure Functions keys (`code`, see
 * learn.microsoft.com "Work with access keys in Azure Functions"), SAS signatures (`sig`), OAuth
 * tokens, API keys and passwords. Compared case-insensitively.
 */
const CREDENTIAL_PARAMS = new Set([
  'code', 'sig', 'signature', 'token', 'access_token', 'refresh_token', 'id_token', 'key', 'apikey', 'api_key', 'api-key',
  'password', 'pwd', 'secret', 'client_secret', 'x-functions-key',
]);

/**
 * The parts of a URL-shaped secret that are credentials on their own: a service that echoes only
 * `?code=…` or only the password of `user:password@` must not print it in clear because the whole
 * URL was the secret. Both the decoded value and the form as written in the URL are returned.
 */
export function credentialParts(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim())) return [];
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return [];
  }
  const parts: string[] = [];
  if (url.password !== '') parts.push(url.password, safeDecode(url.password), `${url.username}:${url.password}`);
  for (const pair of url.search.slice(1).split('&')) {
    const [rawName = '', ...rest] = pair.split('=');
    const raw = rest.join('=');
    if (raw === '' || !CREDENTIAL_PARAMS.has(safeDecode(rawName).toLowerCase())) continue;
    parts.push(raw, safeDecode(raw.replace(/\+/g, ' ')));
  }
  return parts;
}

/** `scheme://userinfo@`: the userinfo up to `@`, never past a path, query or fragment (no backtracking past one `://`). */
const URL_USERINFO = /:\/\/([^/?#@\s"'<>]*)@/g;
/** `?name=value` / `&name=value`; the name stops at `?` too, so a scan never runs past the next pair. */
const QUERY_PAIR = /([?&])([^=&?#\s"'<>]+)=([^&#\s"'<>]*)/g;

/**
 * A text (a URL, a request line, a log line, an error) with every credential a URL can carry
 * masked: the value of a credential query parameter (`?code=` function keys, SAS `sig`, tokens) and
 * the userinfo of `scheme://user:password@`. The Functions host masks the same in its own log
 * lines (azure-functions-host, Sanitizer.cs: `?code=`, `&code=`, `?sig=`, `user:password@`); this
 * is ours, for what the app and the dev host log and the CLI prints. Linear in the text's length.
 */
export function maskUrlCredentials(text: string): string {
  return text
    .replace(URL_USERINFO, (_match, userinfo: string) => `://${userinfo.includes(':') ? `${userinfo.slice(0, userinfo.indexOf(':'))}:${MASK}` : MASK}@`)
    .replace(QUERY_PAIR, (match, separator: string, name: string, value: string) =>
      value !== '' && CREDENTIAL_PARAMS.has(safeDecode(name).toLowerCase()) ? `${separator}${name}=${MASK}` : match);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** For tests that need a clean slate between cases. */
export function forgetSecretValues(): void {
  known.clear();
  forms = undefined;
}

function allForms(): string[] {
  if (forms) return forms;
  const set = new Set<string>();
  for (const value of known) {
    set.add(value);
    set.add(encodeURIComponent(value));
    set.add(JSON.stringify(value).slice(1, -1));
    set.add(JSON.stringify(JSON.stringify(value)).slice(3, -3));
  }
  forms = [...set].filter((f) => f.length >= 4).sort((a, b) => b.length - a.length);
  return forms;
}

export function maskSecrets(text: string): string {
  if (known.size === 0) return text;
  let out = text;
  for (const form of allForms()) {
    if (out.includes(form)) out = out.split(form).join(MASK);
  }
  return out;
}

/**
 * Masks secret values in any JSON-like value (deep), keeping its shape: strings are masked,
 * errors become masked copies (message, stack, cause, code), other objects are walked.
 */
export function maskDeep<T>(value: T): T {
  if (known.size === 0) return value;
  return walk(value, new WeakMap()) as T;
}

function walk(value: unknown, seen: WeakMap<object, unknown>): unknown {
  if (typeof value === 'string') return maskSecrets(value);
  if (typeof value !== 'object' || value === null) return value;
  const done = seen.get(value);
  if (done !== undefined) return done;
  if (value instanceof Error) return maskError(value, seen);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(walk(item, seen));
    return out;
  }
  if (value instanceof Date || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[maskSecrets(k)] = walk(v, seen);
  return out;
}

/**
 * A copy of an error with every known secret masked in its message, stack, cause chain and own
 * string fields. The class is kept where the constructor allows (our ClassifiedErrors do), so
 * `classify()` reads the same class and retry hint from the copy.
 */
export function maskError<E extends Error>(error: E, seen: WeakMap<object, unknown> = new WeakMap()): E {
  if (known.size === 0) return error;
  const copy = Object.create(Object.getPrototypeOf(error) as object) as E;
  seen.set(error, copy);
  for (const key of Object.getOwnPropertyNames(error)) {
    const descriptor = Object.getOwnPropertyDescriptor(error, key);
    if (!descriptor || !('value' in descriptor)) continue;
    Object.defineProperty(copy, key, { ...descriptor, value: walk(descriptor.value, seen) });
  }
  return copy;
}
