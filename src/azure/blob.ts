/**
 * Reads one blob over the Blob REST API with the managed identity (`Authorization: Bearer`, which
 * needs an `x-ms-version`), or with the SAS already in the URL. Missing blobs are `undefined`.
 */
import { AuthRejectedError, failureFor, isSuccess, send, type Fetch } from './http';
import { STORAGE_SCOPE, type TokenSource } from './tokens';

export const BLOB_API_VERSION = '2023-11-03';

/** Appends path segments to a container URL, keeping any query (a SAS) at the end. */
export function blobUrl(containerUrl: string, segments: readonly string[]): string {
  const url = new URL(containerUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${segments.map(encodeURIComponent).join('/')}`;
  return url.toString();
}

export async function readBlobText(url: string, deps: { tokens: TokenSource; fetch: Fetch }): Promise<string | undefined> {
  const hasSas = new URL(url).search.includes('sig=');
  for (let round = 0; ; round++) {
    const headers: Record<string, string> = { 'x-ms-version': BLOB_API_VERSION, accept: '*/*' };
    if (!hasSas) headers['authorization'] = `Bearer ${await deps.tokens.token(STORAGE_SCOPE)}`;
    const reply = await send(deps.fetch, { method: 'GET', url, headers }, 'read run_results.json from Blob Storage');
    if (isSuccess(reply)) return reply.text;
    if (reply.status === 404) return undefined;
    const error = failureFor(reply, `read ${stripQuery(url)}`, reply.headers.get('x-ms-error-code') ?? undefined);
    if (error instanceof AuthRejectedError && reply.status === 401 && round === 0 && !hasSas) {
      deps.tokens.forget(STORAGE_SCOPE);
      continue;
    }
    throw error;
  }
}

/** A blob URL without its SAS, for messages. */
export function stripQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  return parsed.toString();
}
