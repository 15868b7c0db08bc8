/**
 * Text a run produced or a user sent is shown, never obeyed: one function for the CLI, the web
 * console and the alerts. A run's error, a log line, a COPY INTO file name, a parameter or a user's
 * name can come from a downstream service or a hostile caller, and can carry line breaks (a forged
 * second log line), terminal controls (ESC/CSI/OSC, BEL, 8-bit C1), or invisible and bidi
 * characters that reorder or hide what is shown ("Trojan Source", CVE-2021-42574). Each such
 * character is shown as an escape: `\n`, `\t`, `\r`, else `\uXXXX` per UTF-16 unit — the spelling
 * JSON and JavaScript use, so escaped JSON stays valid and means the same. Stored values keep the
 * original text; only what is displayed is escaped.
 *
 * Plain code with no imports: the browser console bundles it too.
 */

/**
 * C0 controls, DEL, C1 (NEL U+0085 among them), the Arabic letter mark, zero-width and bidi marks,
 * line and paragraph separators, bidi embeddings/overrides/isolates, invisible operators, the BOM,
 * interlinear annotations, and the invisible tag characters (U+E0000–E007F, "ASCII smuggling").
 */
const INVISIBLE = '\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff\\ufff9-\\ufffb\\u{e0000}-\\u{e007f}';
/** Everything unsafe but newline and tab: for text whose own line structure is ours (the CLI's output, pretty JSON). */
const UNSAFE_KEEPING_LINES = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f${INVISIBLE}]`, 'gu');
/** Everything unsafe: for one record shown on one line (a log line, a table cell, a field). */
const UNSAFE_IN_LINE = new RegExp(`[\\u0000-\\u001f${INVISIBLE}]`, 'gu');

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

function escape(char: string): string {
  const named = NAMED[char];
  if (named !== undefined) return named;
  let out = '';
  for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/** One record on one line: line breaks, tabs and every control or invisible character shown escaped. */
export function oneLine(text: string): string {
  return text.replace(UNSAFE_IN_LINE, escape);
}

/** Text whose newlines and tabs are its own layout (the CLI's output, indented JSON): every other control shown escaped. */
export function keepingLines(text: string): string {
  return text.replace(UNSAFE_KEEPING_LINES, escape);
}

/** Whether `oneLine` would change the text. */
export function hasUnsafeCharacters(text: string): boolean {
  UNSAFE_IN_LINE.lastIndex = 0;
  return UNSAFE_IN_LINE.test(text);
}

/**
 * A template whose literal parts are the caller's layout and whose values are data:
 * `inLine\`started by: ${by}\`` escapes `by` as one line and keeps the template's own newlines.
 */
export function inLine(strings: TemplateStringsArray, ...values: readonly unknown[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : (JSON.stringify(value) ?? '');
    out += oneLine(text) + (strings[i + 1] ?? '');
  });
  return out;
}

/** The text cut into plain runs and escapes, for a renderer that marks the escapes (the console). */
export function visibleParts(text: string): { readonly text: string; readonly escaped: boolean }[] {
  const parts: { text: string; escaped: boolean }[] = [];
  let last = 0;
  for (const match of text.matchAll(UNSAFE_IN_LINE)) {
    const at = match.index;
    if (at > last) parts.push({ text: text.slice(last, at), escaped: false });
    parts.push({ text: escape(match[0]), escaped: true });
    last = at + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), escaped: false });
  return parts;
}
