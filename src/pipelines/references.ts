/**
 * The names a definition refers to: Key Vault secrets (`{ secret: 'name' }`) or app settings
 * (`{ setting: 'NAME' }`), wherever they sit in it.
 */
export function referencedNames(definition: unknown, key: 'secret' | 'setting'): string[] {
  const names = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    const ref = record[key];
    if (typeof ref === 'string' && Object.keys(record).length === 1) names.add(ref);
    Object.values(record).forEach(visit);
  };
  visit(definition);
  return [...names];
}
