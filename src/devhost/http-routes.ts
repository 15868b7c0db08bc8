/**
 * HTTP trigger routes, tried the way the Functions host tries them.
 *
 * - Order: the host sorts function metadata by name with `StringComparer.OrdinalIgnoreCase`
 *   (Azure/azure-functions-host, src/WebJobs.Script/Host/FunctionMetadataManager.cs,
 *   `LoadFunctionMetadata`), creates the descriptors in that order (Host/ScriptHost.cs,
 *   `GetFunctionDescriptorsAsync`) and maps each HTTP function's route in turn
 *   (src/WebJobs.Script.WebHost/WebScriptHostHttpRoutesManager.cs). The WebJobs route builder keeps
 *   insertion order in a plain `RouteCollection` (Azure/azure-webjobs-sdk-extensions,
 *   src/WebJobs.Extensions.Http/Routing/WebJobsRouteBuilder.cs), which tries each route in turn
 *   and stops at the first that handles the request. ASP.NET Core's template precedence is not
 *   involved (azure-functions-host#9876, azure-functions-nodejs-library#300; the PR that would
 *   rank routes, azure-webjobs-sdk-extensions#842, is not merged).
 * - Each route is an ASP.NET Core `Route` (dotnet/aspnetcore, src/Http/Routing/src/RouteBase.cs,
 *   `RouteAsync`): the template matches the path (Patterns/RoutePatternMatcher.cs, `TryMatch`),
 *   then every constraint must pass (RouteConstraintMatcher.cs) — the inline ones of the template
 *   and the `httpMethod` constraint the host adds from the trigger's methods. A route that fails
 *   either is skipped, so a wrong method is a 404, not a 405.
 * - Registration checks the host makes (Host/ScriptHost.cs `ValidateFunction`,
 *   `ValidateHttpFunction`, `HttpRoutesConflict`; Utility.cs `FunctionNameValidationRegex`) are
 *   made here at start-up too, so an app the host would refuse does not start here either.
 */
import type { HttpRegistration } from '../app/registry';
import { safeDecode } from './http-triggers';

export interface RouteConstraint {
  /** As written in the template, e.g. `regex(^\d+$)`. */
  readonly text: string;
  readonly matches: (value: string) => boolean;
}

export interface TemplateParameter {
  readonly name: string;
  readonly catchAll: boolean;
  readonly optional: boolean;
  readonly defaultValue?: string;
  readonly constraints: readonly RouteConstraint[];
}

export type TemplateSegment = { readonly literal: string } | { readonly parameter: TemplateParameter };

export interface CompiledRoute {
  readonly registration: HttpRegistration;
  readonly segments: readonly TemplateSegment[];
}

export interface RouteMatch {
  readonly route: CompiledRoute;
  readonly params: Record<string, string>;
  /** Parameters whose percent-encoding is malformed (`%ZZ`): answered 400 once the caller is authorized. */
  readonly malformed: readonly string[];
}

// ── Names and order ─────────────────────────────────────────────────────────────────────────────

/** azure-functions-host src/WebJobs.Script/Utility.cs `FunctionNameValidationRegex`. */
const FUNCTION_NAME = /^[a-z][a-z0-9_-]{0,127}$/i;

export function assertValidFunctionName(name: string): void {
  if (!FUNCTION_NAME.test(name) || name.toLowerCase() === 'host') throw new Error(`'${name}' is not a valid function name (the Functions host requires ${FUNCTION_NAME.source}, not "host")`);
}

/**
 * .NET `StringComparer.OrdinalIgnoreCase`: code units compared after upper-casing each one
 * (simple, one-to-one mapping), a prefix before the longer string. Function names are ASCII
 * letters, digits, `_` and `-`, so this is ASCII upper-casing — which puts `_` (0x5F) after every
 * letter, where a lower-case or locale comparison would put it before.
 */
export function compareOrdinalIgnoreCase(a: string, b: string): number {
  const upper = (code: number): number => {
    if (code >= 0x61 && code <= 0x7a) return code - 0x20;
    if (code < 0x80) return code;
    const mapped = String.fromCharCode(code).toUpperCase();
    return mapped.length === 1 ? mapped.charCodeAt(0) : code;
  };
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const difference = upper(a.charCodeAt(i)) - upper(b.charCodeAt(i));
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

/** HTTP registrations in the order the Functions host maps (and so tries) their routes. */
export function inHostOrder<T extends { readonly name: string }>(registrations: readonly T[]): T[] {
  // Array.prototype.sort is stable, like LINQ's OrderBy.
  return [...registrations].sort((a, b) => compareOrdinalIgnoreCase(a.name, b.name));
}

// ── Templates ───────────────────────────────────────────────────────────────────────────────────

/**
 * Parses a route template as RoutePatternParser.cs / RouteParameterParser.cs do, for the shapes a
 * function route can take here: literal segments and segments that are one parameter
 * (`{name}`, `{name?}`, `{*rest}`, `{name:constraint(arg)...=default}`, braces escaped `{{ }}`).
 * A segment mixing literals and parameters (`{a}.{b}`) is refused: nothing here uses one, and
 * refusing beats emulating it wrongly.
 */
export function parseRouteTemplate(template: string): TemplateSegment[] {
  const text = template.replace(/^~?\//, '');
  if (text === '') return [];
  const segments: TemplateSegment[] = [];
  let i = 0;
  while (i <= text.length) {
    let part = '';
    let parameter: string | undefined;
    while (i < text.length && text[i] !== '/') {
      if (text[i] === '{' && text[i + 1] !== '{') {
        const end = closingBrace(text, i + 1, template);
        if (parameter !== undefined || part !== '') throw new Error(`route '${template}': a segment mixing literals and parameters is not supported by the dev host`);
        parameter = text.slice(i + 1, end).replace(/\}\}/g, '}').replace(/\{\{/g, '{');
        i = end + 1;
        continue;
      }
      if (parameter !== undefined) throw new Error(`route '${template}': a segment mixing literals and parameters is not supported by the dev host`);
      if ((text[i] === '{' || text[i] === '}') && text[i + 1] === text[i]) i++;
      else if (text[i] === '}') throw new Error(`route '${template}': unbalanced '}'`);
      part += text[i];
      i++;
    }
    if (parameter === undefined && part === '') throw new Error(`route '${template}': empty segment`);
    segments.push(parameter !== undefined ? { parameter: parseParameter(parameter, template) } : { literal: part });
    i++;
  }
  const catchAll = segments.findIndex((s) => 'parameter' in s && s.parameter.catchAll);
  if (catchAll !== -1 && catchAll !== segments.length - 1) throw new Error(`route '${template}': a catch-all parameter must be last`);
  return segments;
}

/** Index of the `}` closing a parameter opened before `from`; `}}` inside is an escaped brace. */
function closingBrace(text: string, from: number, template: string): number {
  for (let j = from; j < text.length; j++) {
    if (text[j] === '{') {
      if (text[j + 1] !== '{') throw new Error(`route '${template}': unescaped '{' inside a parameter`);
      j++;
    } else if (text[j] === '}') {
      if (text[j + 1] !== '}') return j;
      j++;
    }
  }
  throw new Error(`route '${template}': unclosed '{'`);
}

/** RouteParameterParser.ParseRouteParameter: `*`/`**`, name, `:constraint(…)`…, `=default`, trailing `?`. */
function parseParameter(inside: string, template: string): TemplateParameter {
  let rest = inside;
  const catchAll = rest.startsWith('*');
  rest = rest.replace(/^\*\*?/, '');
  const optional = rest.endsWith('?');
  if (optional) rest = rest.slice(0, -1);
  if (catchAll && optional) throw new Error(`route '${template}': a catch-all parameter cannot be optional`);
  const nameEnd = rest.slice(1).search(/[:=]/);
  const name = nameEnd === -1 ? rest : rest.slice(0, nameEnd + 1);
  if (name === '' || /[/{}?*]/.test(name)) throw new Error(`route '${template}': invalid parameter name '${name}'`);
  rest = rest.slice(name.length);
  const constraints: RouteConstraint[] = [];
  while (rest.startsWith(':')) {
    // A constraint runs to the next ':' or '=' outside its parentheses; `regex(...)` may hold both.
    let end = 1;
    let depth = 0;
    for (; end < rest.length; end++) {
      const c = rest[end];
      if (c === '(') depth++;
      else if (c === ')') depth = Math.max(0, depth - 1);
      else if ((c === ':' || c === '=') && depth === 0) break;
    }
    constraints.push(resolveConstraint(rest.slice(1, end), template));
    rest = rest.slice(end);
  }
  const defaultValue = rest.startsWith('=') ? rest.slice(1) : undefined;
  if (optional && defaultValue !== undefined) throw new Error(`route '${template}': an optional parameter cannot have a default value`);
  return { name, catchAll, optional, ...(defaultValue !== undefined ? { defaultValue } : {}), constraints };
}

/**
 * The inline constraints of ASP.NET Core's default map (src/Http/Routing/src/RouteOptions.cs,
 * `GetDefaultConstraintMap`; each in src/Http/Routing/src/Constraints/<Name>RouteConstraint.cs).
 * Every one of them refuses a missing (null) value. The regex constraint is unanchored and
 * case-insensitive (`RegexOptions.CultureInvariant | RegexOptions.IgnoreCase`); the Functions host
 * has it because it registers MVC (`AddMvc` → `AddRouting`). .NET and JavaScript regex syntax
 * agree on what routes use (classes, groups, anchors, lookahead); a pattern JavaScript cannot
 * compile fails here at start-up.
 */
function resolveConstraint(text: string, template: string): RouteConstraint {
  const match = /^([a-z]+)(?:\((.*)\))?$/is.exec(text);
  const kind = match?.[1]?.toLowerCase();
  const argument = match?.[2] ?? '';
  const numbers = argument.split(',').map((a) => Number(a.trim()));
  const [first = Number.NaN, second = Number.NaN] = numbers;
  const integer = (value: string, bits: 32 | 64): bigint | undefined => {
    if (!/^\s*[+-]?\d+\s*$/.test(value)) return undefined;
    const parsed = BigInt(value.trim());
    const limit = 2n ** BigInt(bits - 1);
    return parsed >= -limit && parsed < limit ? parsed : undefined;
  };
  const is = (matches: (value: string) => boolean): RouteConstraint => ({ text, matches });
  switch (kind) {
    case 'regex':
      try {
        const pattern = new RegExp(argument, 'i');
        return is((value) => pattern.test(value));
      } catch (error) {
        throw new Error(`route '${template}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    case 'alpha':
      return is((value) => /^[a-z]*$/i.test(value));
    case 'int':
      return is((value) => integer(value, 32) !== undefined);
    case 'long':
      return is((value) => integer(value, 64) !== undefined);
    case 'bool':
      return is((value) => /^\s*(true|false)\s*$/i.test(value));
    case 'guid':
      return is((value) => /^\s*(?:[0-9a-f]{32}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}|\{[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\}|\([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\))\s*$/i.test(value));
    case 'required':
      return is((value) => value !== '');
    case 'minlength':
      return is((value) => value.length >= first);
    case 'maxlength':
      return is((value) => value.length <= first);
    case 'length':
      return is((value) => (numbers.length === 1 ? value.length === first : value.length >= first && value.length <= second));
    case 'min':
      return is((value) => (integer(value, 64) ?? Number.NaN) >= first);
    case 'max':
      return is((value) => (integer(value, 64) ?? Number.NaN) <= first);
    case 'range':
      return is((value) => {
        const n = integer(value, 64);
        return n !== undefined && n >= first && n <= second;
      });
    default:
      throw new Error(`route '${template}': the dev host does not emulate the route constraint '${text}'`);
  }
}

// ── Registrations ───────────────────────────────────────────────────────────────────────────────

/**
 * The routes of these registrations in host order, checked as the host checks them: a valid
 * function name, no route in the host's own `admin`/`runtime` space, no two functions with the
 * same route (compared case-insensitively) and a method in common.
 */
export function compileRoutes(registrations: readonly HttpRegistration[]): CompiledRoute[] {
  const seen: HttpRegistration[] = [];
  for (const registration of registrations) {
    assertValidFunctionName(registration.name);
    const route = trimRoute(registration);
    if (route.toLowerCase().startsWith('admin') || route.toLowerCase().startsWith('runtime')) {
      throw new Error(`function '${registration.name}': the specified route conflicts with one or more built in routes`);
    }
    const conflict = seen.find((other) => trimRoute(other).toLowerCase() === route.toLowerCase() && methodsIntersect(other, registration));
    if (conflict) throw new Error(`function '${registration.name}': the route specified conflicts with the route defined by function '${conflict.name}'`);
    seen.push(registration);
  }
  return inHostOrder(registrations).map((registration) => ({ registration, segments: parseRouteTemplate(trimRoute(registration)) }));
}

/** The route template, or the function name when none is given (ScriptHost.ValidateHttpFunction). */
function trimRoute(registration: HttpRegistration): string {
  const route = registration.options.route.replace(/^\/+|\/+$/g, '');
  return route === '' ? registration.name : route;
}

function methodsIntersect(a: HttpRegistration, b: HttpRegistration): boolean {
  const [x, y] = [a.options.methods, b.options.methods];
  return x.length === 0 || y.length === 0 || x.some((m) => y.includes(m));
}

// ── Matching ────────────────────────────────────────────────────────────────────────────────────

/** The first route, in host order, whose template, constraints and methods all accept the request. */
export function findRoute(routes: readonly CompiledRoute[], method: string, path: string): RouteMatch | undefined {
  for (const route of routes) {
    const methods = route.registration.options.methods;
    const match = matchTemplate(route, path);
    if (!match) continue;
    // HttpMethodRouteConstraint compares case-insensitively.
    if (methods.length > 0 && !methods.some((m) => m.toUpperCase() === method.toUpperCase())) continue;
    return match;
  }
  return undefined;
}

/**
 * RoutePatternMatcher.TryMatch over `path` (the request path after the route prefix, no leading
 * slash), then the template's constraints (RouteBase.RouteAsync → RouteConstraintMatcher.Match).
 * Path segments split on `/`, a trailing slash ignored (PathTokenizer.cs); an empty segment before
 * a catch-all never matches; literals compare case-insensitively; a catch-all takes the rest of
 * the path, or its default (else no value) when there is none.
 */
export function matchTemplate(route: CompiledRoute, path: string): RouteMatch | undefined {
  const parts = path === '' || path === '/' ? [] : path.replace(/\/$/, '').split('/');
  const params: Record<string, string> = {};
  const malformed: string[] = [];
  const decoded = (name: string, raw: string): string => {
    const value = safeDecode(raw);
    if (value === undefined) malformed.push(name);
    return value ?? raw;
  };
  const { segments } = route;
  let i = 0;
  for (; i < parts.length; i++) {
    const part = parts[i] ?? '';
    const segment = segments[i];
    if (part === '' || segment === undefined) return undefined;
    if ('literal' in segment) {
      if ((safeDecode(part) ?? part).toUpperCase() !== segment.literal.toUpperCase()) return undefined;
      continue;
    }
    const { parameter } = segment;
    if (parameter.catchAll) {
      params[parameter.name] = parts.slice(i).map((p) => decoded(parameter.name, p)).join('/') + (path.endsWith('/') ? '/' : '');
      i = segments.length;
      break;
    }
    params[parameter.name] = decoded(parameter.name, part);
  }
  for (; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === undefined || 'literal' in segment) return undefined;
    const { parameter } = segment;
    if (parameter.defaultValue !== undefined) params[parameter.name] = parameter.defaultValue;
    else if (!parameter.optional && !parameter.catchAll) return undefined;
  }
  for (const segment of segments) {
    if (!('parameter' in segment)) continue;
    const { parameter } = segment;
    const value = params[parameter.name];
    // OptionalRouteConstraint lets an absent optional value through; every other constraint refuses it.
    if (value === undefined && parameter.optional) continue;
    if (!parameter.constraints.every((c) => value !== undefined && c.matches(value))) return undefined;
  }
  return { route, params, malformed };
}
