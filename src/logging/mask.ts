/**
 * Secret values resolved in this process, so any text leaving an activity (error, log line, output)
 * can have them masked. Values shorter than 4 characters are not tracked: masking them would
 * shred ordinary text.
 */
const known = new Set<string>();

export function rememberSecretValue(value: string): void {
  if (value.length >= 4) known.add(value);
}

export function maskSecrets(text: string): string {
  let out = text;
  for (const value of known) {
    if (out.includes(value)) out = out.split(value).join('***');
  }
  return out;
}

/** Masks secret values in any JSON-like value (deep). */
export function maskDeep<T>(value: T): T {
  if (known.size === 0) return value;
  return JSON.parse(maskSecrets(JSON.stringify(value) ?? 'null')) as T;
}
