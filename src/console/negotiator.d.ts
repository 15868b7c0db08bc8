/**
 * The part of jshttp's `negotiator` 1.x the console uses. DefinitelyTyped's @types/negotiator
 * describes 0.6, whose `encodings` has no `preferred` option (negotiator 1.0: "Added preferred
 * option to encodings", lib/encoding.js `preferredEncodings(accept, provided, preferred)`).
 */
declare module 'negotiator' {
  class Negotiator {
    constructor(request: { headers: Record<string, string | string[] | undefined> });
    /** The acceptable encodings of `available` (q > 0), best first; equal q-values ranked by `preferred`. */
    encodings(available?: readonly string[], options?: { preferred?: readonly string[] }): string[];
  }
  export = Negotiator;
}
