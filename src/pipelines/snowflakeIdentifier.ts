/**
 * The one rule for the Snowflake identifiers and literal texts of a definition, shared by
 * definition validation (schema.ts) and the COPY INTO builder (steps/snowflake/copyInto.ts), so
 * that whatever validates also builds.
 *
 * Snowflake's identifier requirements (docs.snowflake.com/en/sql-reference/identifiers-syntax):
 * an unquoted identifier starts with a letter or `_` and holds letters, digits, `_` and `$`; a
 * double-quoted one may hold any character; either is at most 255 characters. We are stricter on
 * quoted names: no `"` inside (no `""` escapes to get wrong), and no control, invisible or
 * direction-changing character — a right-to-left override or a zero-width space makes a name read
 * differently from what it is, in the definition, in logs and in the SQL.
 */

/** Unquoted: stored upper-case, so rendering it as written keeps its meaning. */
const UNQUOTED = /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/;

/** Snowflake's limit for one identifier part (quotes not counted). */
const MAX_PART_LENGTH = 255;

/**
 * Characters no quoted identifier or literal of ours may hold: C0/C1 controls and DEL, zero-width
 * and direction marks (U+200B–U+200F), line/paragraph separators and embedding/override controls
 * (U+2028–U+202E), word joiner and isolates (U+2060–U+2069), and the byte-order mark.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this pattern is for
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/u;

/** `U+202E` for the first forbidden character of `text`, or undefined. */
export function invisibleCharacter(text: string): string | undefined {
  const match = INVISIBLE.exec(text);
  if (!match) return undefined;
  return `U+${(match[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Splits `db."my.schema".tbl` on the dots outside quotes; undefined when a quote is left open. */
export function splitQualified(name: string): string[] | undefined {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of name) {
    if (ch === '"') quoted = !quoted;
    if (ch === '.' && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (quoted) return undefined;
  parts.push(current);
  return parts;
}

export type IdentifierCheck = { readonly ok: true; readonly parts: readonly IdentifierPart[] } | { readonly ok: false; readonly problem: string };

/** One checked part: `quoted` parts keep their exact case and characters. */
export interface IdentifierPart {
  readonly name: string;
  readonly quoted: boolean;
}

function checkPart(part: string): IdentifierPart | string {
  if (UNQUOTED.test(part)) return { name: part, quoted: false };
  if (part.length >= 2 && part.startsWith('"') && part.endsWith('"')) {
    const inner = part.slice(1, -1);
    if (inner.length === 0) return 'a quoted name cannot be empty';
    if (inner.length > MAX_PART_LENGTH) return `a name is at most ${MAX_PART_LENGTH} characters`;
    if (inner.includes('"')) return 'a quoted name cannot hold "';
    const hidden = invisibleCharacter(inner);
    if (hidden) return `holds the control or invisible character ${hidden}`;
    return { name: inner, quoted: true };
  }
  if (part === '') return 'empty name part';
  const hidden = invisibleCharacter(part);
  if (hidden) return `holds the control or invisible character ${hidden}`;
  return `${JSON.stringify(part)} is neither a plain name (letters, digits, _ and $, starting with a letter or _) nor a "quoted" name`;
}

/** Checks a qualified identifier of at most `maxParts` dot-separated parts. */
export function checkIdentifier(name: string, maxParts: number): IdentifierCheck {
  const split = splitQualified(name);
  if (!split) return { ok: false, problem: 'unbalanced double quote' };
  if (split.length > maxParts) return { ok: false, problem: `at most ${maxParts} dot-separated part${maxParts === 1 ? '' : 's'}` };
  const parts: IdentifierPart[] = [];
  for (const raw of split) {
    const part = checkPart(raw);
    if (typeof part === 'string') return { ok: false, problem: part };
    parts.push(part);
  }
  return { ok: true, parts };
}

/** The identifier as SQL: plain parts as written, quoted parts in double quotes. */
export function renderCheckedIdentifier(parts: readonly IdentifierPart[]): string {
  return parts.map((p) => (p.quoted ? `"${p.name}"` : p.name)).join('.');
}

/** A text that becomes a SQL string literal (a PATTERN, a format option value): no hidden characters. */
export function literalTextProblem(text: string): string | undefined {
  const hidden = invisibleCharacter(text);
  return hidden ? `holds the control or invisible character ${hidden}` : undefined;
}
