/**
 * Reads the classification of a failed task (activity or sub-orchestration) in the orchestrator.
 * The host wraps the activity's message in its own words and may also hand over structured
 * failure details; the marker written by `toActivityError` is searched in all of them.
 */
import { ClassifiedError, readFailure, type FailureInfo } from '../core/errors';

interface FailureDetailsLike {
  readonly errorMessage?: unknown;
  readonly innerFailure?: unknown;
}

function detailTexts(details: unknown, depth = 0): string[] {
  if (typeof details !== 'object' || details === null || depth > 5) return [];
  const d = details as FailureDetailsLike;
  return [typeof d.errorMessage === 'string' ? d.errorMessage : '', ...detailTexts(d.innerFailure, depth + 1)];
}

/** Every text the failure carries, most specific first. */
function failureTexts(error: unknown): string[] {
  if (error instanceof Error) {
    const details = (error as Error & { failureDetails?: unknown }).failureDetails;
    return [...detailTexts(details), error.message, error.stack ?? ''];
  }
  return [String(error)];
}

/** The failure's class and hint; a failure without our marker counts as transient. */
export function readTaskFailure(error: unknown): FailureInfo {
  if (error instanceof ClassifiedError) return error.failure;
  const texts = failureTexts(error);
  for (const text of texts) {
    const info = readFailure(text);
    if (info) return info;
  }
  const first = texts.find((t) => t.trim() !== '') ?? 'unknown failure';
  return { class: 'transient', message: firstLine(first) };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? text;
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}
