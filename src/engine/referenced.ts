/**
 * The values a run keeps of its steps' results: only the paths some step refers to (a reference
 * object, a `{steps.…}` template, a `when`), never whole outputs. They are extracted when the
 * producing step succeeds (or is reused), carried across `continueAsNew` (`RunCarry.values`), handed
 * to a step's activity as `upstream`, and read by `when` (docs/pipelines.md, sections 1 and 2).
 *
 * Durable persists activity and sub-orchestration inputs in history and replays them at every
 * wake-up, hence the size limit: a value over `REFERENCE_LIMIT_BYTES` is not kept; a step that
 * needs it fails, permanently, saying so.
 */
import type { FailureInfo } from '../core/errors';
import type { Json, JsonObject } from '../core/json';
import type { PipelineDefinition, StepDefinition } from '../pipelines/schema';
import { refKey, referencedPaths, stepRefsOf, type StepRef } from '../pipelines/stepRefs';
import { evaluateWhen, parseWhen, WhenEvaluationError, type WhenRef } from '../pipelines/when';
import type { StepMetrics } from '../steps/protocol';

/** At most this many bytes (JSON, UTF-16 code units) per value handed to a step's activity. */
export const REFERENCE_LIMIT_BYTES = 8 * 1024;
/**
 * At most this many bytes per value the run keeps: larger than what an activity may get, because
 * a forEach step's items (up to 10,000) are kept whole and handed out one item at a time.
 */
export const KEEP_LIMIT_BYTES = 512 * 1024;

/** A value too large to keep: its size, so the step that needs it can say why it fails. */
export interface Oversize {
  readonly tooLarge: number;
}

export type Kept = Json | Oversize;

/** Oversize markers are our own objects (a step's output could hold `{ tooLarge: 3 }` too). */
const oversized = new WeakSet<object>();
const isOversize = (value: Kept | undefined): value is Oversize => typeof value === 'object' && value !== null && oversized.has(value);

function markOversize(bytes: number): Oversize {
  const marker = { tooLarge: bytes };
  oversized.add(marker);
  return marker;
}

/** The value at `path` in a step's result (`output` / `metrics` first), or undefined. */
function valueAt(result: { readonly output?: Json | undefined; readonly metrics?: StepMetrics | undefined }, path: readonly string[]): Json | undefined {
  const [root, ...rest] = path;
  let here: Json | undefined = root === 'output' ? result.output : root === 'metrics' ? (result.metrics) : undefined;
  for (const segment of rest) {
    if (Array.isArray(here)) here = /^\d+$/.test(segment) ? here[Number(segment)] : undefined;
    else if (typeof here === 'object' && here !== null) here = Object.hasOwn(here, segment) ? here[segment] : undefined;
    else return undefined;
  }
  return here;
}

/** The referenced paths of each step of a definition (computed once per execution). */
export type ReferenceMap = ReadonlyMap<string, readonly (readonly string[])[]>;

export function referenceMapOf(definition: Pick<PipelineDefinition, 'steps'>): ReferenceMap {
  return referencedPaths(definition.steps);
}

/** The kept values of a step that succeeded: each referenced path present in its result. */
export function extractKept(stepId: string, paths: readonly (readonly string[])[], result: { readonly output?: Json | undefined; readonly metrics?: StepMetrics | undefined }): [string, Kept][] {
  return paths.flatMap((path) => {
    const value = valueAt(result, path);
    if (value === undefined) return [];
    const bytes = JSON.stringify(value).length;
    return [[refKey(stepId, path), bytes > KEEP_LIMIT_BYTES ? markOversize(bytes) : value] as [string, Kept]];
  });
}

/** Values as carried across a continue: oversize markers become `{ tooLarge }` under `oversize`. */
export function carryKept(kept: ReadonlyMap<string, Kept>): { values?: JsonObject; oversize?: Record<string, number> } {
  const values: JsonObject = {};
  const oversize: Record<string, number> = {};
  for (const [key, value] of kept) {
    if (isOversize(value)) oversize[key] = value.tooLarge;
    else values[key] = value;
  }
  return { ...(Object.keys(values).length > 0 ? { values } : {}), ...(Object.keys(oversize).length > 0 ? { oversize } : {}) };
}

export function restoreKept(values: JsonObject | undefined, oversize: Readonly<Record<string, number>> | undefined): Map<string, Kept> {
  const kept = new Map<string, Kept>(Object.entries(values ?? {}));
  for (const [key, bytes] of Object.entries(oversize ?? {})) kept.set(key, markOversize(bytes));
  return kept;
}

const tooLargeError = (key: string, bytes: number): FailureInfo => ({
  class: 'permanent',
  code: 'reference-too-large',
  message: `steps.${key} is ${bytes.toLocaleString('en-US')} bytes, over the ${REFERENCE_LIMIT_BYTES / 1024} KiB a reference may carry`,
});

/** A definition's steps are the same objects at every replay: their references are read once. */
const handedRefsCache = new WeakMap<StepDefinition, readonly StepRef[]>();

/** The references whose values a step's activity gets: not `when`'s, nor forEach.items (handed out one item at a time). */
function handedRefs(step: StepDefinition): readonly StepRef[] {
  const known = handedRefsCache.get(step);
  if (known) return known;
  const refs = stepRefsOf(step).filter((r) => r.place !== 'when' && !(r.at[0] === 'forEach' && r.at[1] === 'items'));
  handedRefsCache.set(step, refs);
  return refs;
}

/** The values a step's activity gets (`upstream`), or why it cannot start. Missing paths are left out: the activity says which. */
export function upstreamFor(step: StepDefinition, kept: ReadonlyMap<string, Kept>): { readonly upstream?: JsonObject; readonly error?: FailureInfo } {
  // `when` reads kept values in the orchestrator; forEach.items hands out one item at a time (items.ts).
  const refs = handedRefs(step);
  if (refs.length === 0) return {};
  const upstream: JsonObject = {};
  for (const ref of refs) {
    const value = kept.get(ref.key);
    if (value === undefined) continue;
    if (isOversize(value)) return { error: tooLargeError(ref.key, value.tooLarge) };
    const bytes = JSON.stringify(value).length;
    if (bytes > REFERENCE_LIMIT_BYTES) return { error: tooLargeError(ref.key, bytes) };
    upstream[ref.key] = value;
  }
  return { upstream };
}

/** What `when` decided: run the step, skip it (the reason), or fail it (the expression cannot be evaluated). */
export type WhenVerdict = { readonly run: true } | { readonly run: false; readonly skip?: FailureInfo; readonly fail?: FailureInfo };

export interface WhenValues {
  readonly parameters: JsonObject;
  readonly trigger: { readonly scheduledFor?: string | undefined; readonly requestedAt?: string | undefined };
  readonly runId: string;
  readonly kept: ReadonlyMap<string, Kept>;
}

export function whenVerdict(step: StepDefinition, values: WhenValues): WhenVerdict {
  if (step.when === undefined) return { run: true };
  const parsed = parseWhen(step.when);
  const failure = (message: string): WhenVerdict => ({ run: false, fail: { class: 'permanent', code: 'when-error', message: `when "${step.when ?? ''}": ${message}` } });
  if (!parsed.ok) return failure(parsed.message);
  const lookup = (ref: WhenRef): unknown => {
    if (ref.root === 'param') return Object.hasOwn(values.parameters, ref.name) ? values.parameters[ref.name] : undefined;
    if (ref.root === 'run') {
      if (ref.name === 'id') return values.runId;
      const instant = values.trigger.scheduledFor ?? values.trigger.requestedAt;
      return ref.name === 'scheduledFor' ? instant : instant?.slice(0, 10);
    }
    const key = refKey(ref.stepId, ref.path);
    const value = values.kept.get(key);
    if (isOversize(value)) throw new WhenEvaluationError(tooLargeError(key, value.tooLarge).message);
    return value;
  };
  try {
    if (evaluateWhen(parsed.node, lookup)) return { run: true };
    return { run: false, skip: { class: 'permanent', code: 'when-false', message: `when is false: ${step.when}` } };
  } catch (error) {
    if (error instanceof WhenEvaluationError) return failure(error.message);
    throw error;
  }
}
