/**
 * A Map that holds at most `max` entries, forgetting the least recently set first: what every
 * process-wide cache in the app is built on, so none grows with the keys callers, runs or time
 * bring (docs/security.md lists each cache and its bound). Setting a key again makes it the newest.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    for (const oldest of this.keys()) {
      if (this.size <= this.max) break;
      this.delete(oldest);
    }
    return this;
  }
}
