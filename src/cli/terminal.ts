/**
 * Text from the server is data, never terminal commands. A run's error message or log line comes
 * from downstream services (an export function, Snowflake, dbt) and could carry ESC/CSI/OSC
 * sequences (retitle the terminal, erase lines, hyperlinks), BEL, C1 controls (8-bit CSI) or
 * Unicode bidi overrides that reorder what is shown ("Trojan Source", CVE-2021-42574). Every such
 * character is printed as a visible `\uXXXX` escape — the same spelling JSON uses, so JSON output
 * stays valid and means the same.
 */

/** C0 controls but tab and newline, DEL, C1, ALM, zero-width and bidi controls, BOM. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g;
/** The same plus tab and newline: for one-line records (a table cell, a log line). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g;

const visible = (char: string): string => {
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
};

/** What may reach the terminal: the CLI's own newlines and tabs stay, every other control is shown escaped. */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** One record on one line: newlines, tabs and carriage returns inside it are shown escaped too. */
export function oneLine(text: string): string {
  return text.replace(UNSAFE_IN_LINE, visible);
}
