/**
 * The names a definition refers to: Key Vault secrets (`{ secret: 'name' }`) or app settings
 * (`{ setting: 'NAME' }`), wherever they sit in it.
 */
export interface NameReference {
  /** Where it sits: `['steps', 1, 'connection', 'auth', 'password', 'secret']`. */
  readonly path: readonly PropertyKey[];
  readonly name: string;
}

/** Every reference of that kind, in definition order, with its path. */
export function nameReferences(definition: unknown, key: 'secret' | 'setting'): NameReference[] {
  const found: NameReference[] = [];
  const visit = (value: unknown, path: PropertyKey[]): void => {
    if (Array.isArray(value)) return value.forEach((item, index) => visit(item, [...path, index]));
    if (typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    const ref = record[key];
    if (typeof ref === 'string' && Object.keys(record).length === 1) found.push({ path: [...path, key], name: ref });
    for (const [field, inner] of Object.entries(record)) visit(inner, [...path, field]);
  };
  visit(definition, []);
  return found;
}

/** The distinct names of that kind. */
export function referencedNames(definition: unknown, key: 'secret' | 'setting'): string[] {
  return [...new Set(nameReferences(definition, key).map((r) => r.name))];
}
