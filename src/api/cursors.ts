/**
 * Signed list cursors. The run store's cursor names a position in its index; signed with
 * HMAC-SHA256, a cursor the API did not issue — edited, re-encoded or forged — is refused (400)
 * before it reaches the store. The signature also covers the query the cursor belongs to (its
 * filters), so a cursor is refused under other filters: the next page is the next page of that
 * list, never a position carried into another one. The key comes from CURSOR_SIGNING_KEY (in Azure
 * an app setting, or a Key Vault reference `@Microsoft.KeyVault(SecretUri=…)`); without it each
 * process makes its own, so cursors then stay valid only on the instance that issued them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SEPARATOR = '.';

export interface CursorSigner {
  /** `scope` names the query the cursor belongs to (its filters, in a fixed order). */
  sign(cursor: string, scope: string): string;
  /** The store's cursor inside a signed one, or undefined when the signature does not match this scope. */
  verify(signed: string, scope: string): string | undefined;
}

export function cursorSigner(key: string | Buffer): CursorSigner {
  // The store's cursor never holds a NUL, so the last one splits scope from cursor unambiguously.
  const mac = (cursor: string, scope: string): Buffer => createHmac('sha256', key).update(`${scope}\u0000${cursor}`, 'utf8').digest();
  return {
    sign: (cursor, scope) => `${cursor}${SEPARATOR}${mac(cursor, scope).toString('base64url')}`,
    verify(signed, scope) {
      const at = signed.lastIndexOf(SEPARATOR);
      if (at <= 0) return undefined;
      const cursor = signed.slice(0, at);
      const given = Buffer.from(signed.slice(at + 1), 'base64url');
      const expected = mac(cursor, scope);
      return given.length === expected.length && timingSafeEqual(given, expected) ? cursor : undefined;
    },
  };
}

let processKey: Buffer | undefined;
/** The key cursors are signed with when no CURSOR_SIGNING_KEY is set: random, one per process. */
export function processCursorKey(): Buffer {
  processKey ??= randomBytes(32);
  return processKey;
}
