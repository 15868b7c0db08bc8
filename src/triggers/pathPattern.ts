/**
 * A blob trigger's path pattern: `exports/{day}/done.json`. A placeholder `{name}` matches one or
 * more characters of one path segment (no `/`) and hands them to the run as parameter `name`; `*`
 * matches any characters of one segment, `**` any number of whole segments. Everything else is
 * literal and case-sensitive, as blob names are.
 *
 * Patterns that could never match an event are refused when the definition loads rather than
 * silently never firing: a path starting or ending with `/` (an event's blob name never does),
 * two placeholders side by side (where one ends is anyone's guess), a name given twice, and a
 * pattern longer than a blob name can be (1,024 characters).
 */
export interface CompiledPattern {
  readonly source: string;
  readonly regex: RegExp;
  /** Placeholder names, in order. */
  readonly names: readonly string[];
  /** The literal text before the first wildcard or placeholder: what Event Grid's subject filter can use. */
  readonly literalPrefix: string;
}

/** Azure Storage: blob names are at most 1,024 characters. */
export const MAX_BLOB_NAME = 1024;

const PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Why `pattern` could never match a blob-created event, one message per problem. */
export function patternProblems(pattern: string): string[] {
  const problems: string[] = [];
  if (pattern.length === 0) problems.push('empty: name the blob path, e.g. exports/{day}/done.json');
  if (pattern.length > MAX_BLOB_NAME) problems.push(`longer than ${MAX_BLOB_NAME} characters, the longest a blob name can be: it can never match`);
  if (pattern.startsWith('/')) problems.push("starts with '/': a blob's name never does (write the path inside the container), so it can never match");
  if (pattern.endsWith('/')) problems.push("ends with '/': that names a folder, and a blob-created event names a blob; add the file name or * (e.g. exports/{day}/*)");
  // eslint-disable-next-line no-control-regex -- looking for control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(pattern)) problems.push('holds a control character, which no blob name has: it can never match');
  const names: string[] = [];
  let previousWasPlaceholder = false;
  for (let i = 0; i < pattern.length; ) {
    const rest = pattern.slice(i);
    const placeholder = PLACEHOLDER.exec(rest);
    if (placeholder) {
      const name = placeholder[1] ?? '';
      if (previousWasPlaceholder) problems.push(`{${name}} follows another placeholder directly: where one ends and the next begins cannot be told; put a literal between them`);
      if (names.includes(name)) problems.push(`{${name}} appears twice: a parameter takes one value`);
      names.push(name);
      previousWasPlaceholder = true;
      i += placeholder[0].length;
      continue;
    }
    if (rest.startsWith('{') || rest.startsWith('}')) {
      problems.push(`stray '${rest[0] ?? ''}' at ${i}: placeholders are {name} with a parameter name (letters, digits, _)`);
      i += 1;
      previousWasPlaceholder = false;
      continue;
    }
    if (rest.startsWith('***')) problems.push("'***' is not a wildcard: use * (within a segment) or ** (whole segments)");
    previousWasPlaceholder = false;
    i += 1;
  }
  return problems;
}

/** Compiles a pattern `patternProblems` accepts. */
export function compilePattern(pattern: string): CompiledPattern {
  const names: string[] = [];
  let regex = '^';
  let literalPrefix: string | undefined;
  for (let i = 0; i < pattern.length; ) {
    const rest = pattern.slice(i);
    const placeholder = PLACEHOLDER.exec(rest);
    if (placeholder) {
      literalPrefix ??= pattern.slice(0, i);
      names.push(placeholder[1] ?? '');
      regex += '([^/]+)';
      i += placeholder[0].length;
    } else if (rest.startsWith('**/')) {
      literalPrefix ??= pattern.slice(0, i);
      regex += '(?:[^/]+/)*';
      i += 3;
    } else if (rest.startsWith('**')) {
      literalPrefix ??= pattern.slice(0, i);
      regex += '.*';
      i += 2;
    } else if (rest.startsWith('*')) {
      literalPrefix ??= pattern.slice(0, i);
      regex += '[^/]*';
      i += 1;
    } else {
      regex += escape(rest[0] ?? '');
      i += 1;
    }
  }
  return { source: pattern, regex: new RegExp(`${regex}$`, 'u'), names, literalPrefix: literalPrefix ?? pattern };
}

/** The placeholders' values when `blobName` matches, else undefined. */
export function matchPattern(pattern: CompiledPattern, blobName: string): Record<string, string> | undefined {
  const found = pattern.regex.exec(blobName);
  if (!found) return undefined;
  // fromEntries defines own properties whatever the name.
  return Object.fromEntries(pattern.names.map((name, index) => [name, found[index + 1] ?? '']));
}
