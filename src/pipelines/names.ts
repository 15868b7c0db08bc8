/**
 * Names that come from users or definitions (step ids, parameter names, schedule names, keys of a
 * parameters object) end up as keys of JavaScript objects somewhere. A name that is a member of
 * Object.prototype (`__proto__`, `constructor`, `toString`, `hasOwnProperty`…) answers an `in` test
 * or a plain-object lookup with the prototype's member instead of "absent", and `__proto__` is
 * dropped by zod's record and object parsers (zod v4 core/schemas.js skips it to protect the
 * output's prototype). Such names are refused where they enter; lookups use Map or Object.hasOwn.
 */
import { z } from 'zod';

/** Every member name of Object.prototype, read from the running engine rather than listed by hand. */
const PROTOTYPE_MEMBERS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

export function isPrototypeMember(name: string): boolean {
  return PROTOTYPE_MEMBERS.has(name);
}

/** The message for a refused name; `what` says which kind of name it is ("step id", "parameter"…). */
export function reservedNameMessage(what: string, name: string): string {
  return `${what} "${name}" is reserved: it is a member of every JavaScript object (Object.prototype); choose another name`;
}

/** Own keys of `value` (when it is an object) that are prototype member names, `__proto__` included. */
export function reservedOwnKeys(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.keys(value).filter(isPrototypeMember);
}

/**
 * A record keyed by names from a user (e.g. run parameters in an HTTP body). zod's record parser
 * drops an own `__proto__` key without a word, so the raw value's own keys are checked first and
 * each prototype member name is reported at its own path.
 */
export function namedRecord<V extends z.ZodType>(value: V, what: string) {
  return z.preprocess((raw, ctx) => {
    for (const name of reservedOwnKeys(raw)) ctx.addIssue({ code: 'custom', path: [name], message: reservedNameMessage(what, name), input: raw });
    return raw;
  }, z.record(z.string(), value));
}
