/**
 * Reads and writes one blob over the Blob REST API with the managed identity
 * (`Authorization: Bearer`, which needs an `x-ms-version`), or with the SAS already in the URL.
 * Missing blobs read as `undefined`.
 */
import { AuthRejectedError, failureFor, isSuccess, send, type Fetch, type HttpReply } from './http';
import { STORAGE_SCOPE, type TokenSource } from './tokens';

export const BLOB_API_VERSION = '2023-11-03';

type BlobDeps = { tokens: TokenSource; fetch: Fetch };

/** Appends path segments to a container URL, keeping any query (a SAS) at the end. */
export function blobUrl(containerUrl: string, segments: readonly string[]): string {
  const url = new URL(containerUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${segments.map(encodeURIComponent).join('/')}`;
  return url.toString();
}

/** One Blob call; a 401 on a bearer token gets one fresh token. Answers 2xx and 404, throws the rest. */
async function blobCall(method: 'GET' | 'HEAD' | 'PUT', url: string, deps: BlobDeps, what: string, extra: Record<string, string> = {}, body?: string): Promise<HttpReply> {
  const hasSas = new URL(url).search.includes('sig=');
  for (let round = 0; ; round++) {
    const headers: Record<string, string> = { 'x-ms-version': BLOB_API_VERSION, accept: '*/*', ...extra };
    if (!hasSas) headers['authorization'] = `Bearer ${await deps.tokens.token(STORAGE_SCOPE)}`;
    const reply = await send(deps.fetch, { method, url, headers, ...(body === undefined ? {} : { json: JSON.parse(body) as unknown }) }, what);
    if (isSuccess(reply) || (method !== 'PUT' && reply.status === 404)) return reply;
    const error = failureFor(reply, `${what} ${stripQuery(url)}`, reply.headers.get('x-ms-error-code') ?? undefined);
    if (error instanceof AuthRejectedError && reply.status === 401 && round === 0 && !hasSas) {
      deps.tokens.forget(STORAGE_SCOPE);
      continue;
    }
    throw error;
  }
}

export async function readBlobText(url: string, deps: BlobDeps): Promise<string | undefined> {
  const reply = await blobCall('GET', url, deps, 'read');
  return reply.status === 404 ? undefined : reply.text;
}

/** What Get Blob Properties (HEAD) tells of a blob, or undefined when there is none. */
export interface BlobProperties {
  readonly etag: string;
  readonly contentLength: number;
  readonly lastModified?: string;
}

export async function blobProperties(url: string, deps: BlobDeps): Promise<BlobProperties | undefined> {
  const reply = await blobCall('HEAD', url, deps, 'look up');
  if (reply.status === 404) return undefined;
  const lastModified = reply.headers.get('last-modified');
  return { etag: reply.headers.get('etag') ?? '', contentLength: Number(reply.headers.get('content-length') ?? 0), ...(lastModified ? { lastModified } : {}) };
}

/** Puts a small JSON document as a block blob (Put Blob), replacing what was there. */
export async function writeBlobJson(url: string, value: unknown, deps: BlobDeps): Promise<void> {
  await blobCall('PUT', url, deps, 'write', { 'x-ms-blob-type': 'BlockBlob' }, JSON.stringify(value));
}

/** A blob URL without its SAS, for messages. */
export function stripQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  return parsed.toString();
}
