/**
 * Status URLs of a 202-async function (Durable's `statusQueryGetUri`, a `Location` header) often
 * carry a key in their query (`code=`). The poll handle is persisted in Durable history, so the key
 * may not ride in it in clear. We take such parameters out and keep them sealed (AES-256-GCM) with
 * a key derived from a secret only the activity can read (the function key, or the URL secret);
 * the poll activity re-resolves that secret and unseals them. The handle alone reveals nothing.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Query parameters that carry credentials in Azure and common webhook URLs. */
const SECRET_PARAMS = ['code', 'sig', 'token', 'access_token', 'api_key', 'apikey', 'key'];

export interface SplitUrl {
  /** The URL without its credential parameters: safe to persist. */
  readonly publicUrl: string;
  /** The removed parameters, sealed; absent when there were none. */
  readonly sealed?: string;
}

function keyFrom(material: string): Buffer {
  return createHash('sha256').update('durable-pipelines/sealed-query/v1\0').update(material).digest();
}

export function sealQuery(url: URL, material: string): SplitUrl {
  const copy = new URL(url);
  const removed: [string, string][] = [];
  for (const [name, value] of [...copy.searchParams]) {
    if (SECRET_PARAMS.includes(name.toLowerCase())) removed.push([name, value]);
  }
  if (removed.length === 0) return { publicUrl: copy.toString() };
  for (const [name] of removed) copy.searchParams.delete(name);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyFrom(material), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(removed), 'utf8'), cipher.final()]);
  return { publicUrl: copy.toString(), sealed: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url') };
}

/** The URL with its sealed parameters restored; undefined when they cannot be unsealed (the secret rotated). */
export function unsealQuery(publicUrl: string, sealed: string | undefined, material: string): URL | undefined {
  const url = new URL(publicUrl);
  if (sealed === undefined) return url;
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', keyFrom(material), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const text = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    for (const [name, value] of JSON.parse(text) as [string, string][]) url.searchParams.append(name, value);
    return url;
  } catch {
    return undefined;
  }
}
