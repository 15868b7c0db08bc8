/** Small pieces the pages share: status badges, problem messages, shown text, data loading with refresh. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { visibleParts } from '../../core/visibleText';
import { ApiError, type Problem } from './api';
import { html } from './html';

/**
 * Text a run produced or a caller sent (an error, a log message, a file name, who started a run),
 * on one line: its line breaks, controls and bidi characters shown as marked escapes (`\n`,
 * `\u202e`), so it can neither forge a line nor reorder what is around it. The store keeps the
 * original; this is display only.
 */
export function Shown({ text }: { text: string | null | undefined }) {
  if (!text) return null;
  return html`${visibleParts(text).map((part) => (part.escaped ? html`<span class="ctl">${part.text}</span>` : part.text))}`;
}

export function Status({ status }: { status: string }) {
  return html`<span class=${`badge status-${status}`}>${status}</span>`;
}

export function ProblemBox({ error }: { error: unknown }) {
  if (!error) return null;
  const problem: Problem = error instanceof ApiError ? error.problem : { status: 0, title: 'Network error', detail: error instanceof Error ? error.message : JSON.stringify(error) };
  return html`<div class="problem" role="alert">
    <strong><${Shown} text=${problem.title} /></strong>${problem.detail ? html`: <${Shown} text=${problem.detail} />` : null}
    ${problem.invalidFields?.length ? html`<ul>${problem.invalidFields.map((f) => html`<li><code><${Shown} text=${f.field} /></code>: <${Shown} text=${f.message} /></li>`)}</ul>` : null}
  </div>`;
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly reload: () => void;
}

/** Loads on mount and when `key` changes; `everyMs` re-loads while the page is open (live refresh). */
export function useLoad<T>(load: () => Promise<T>, key: string, everyMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data }),
      (error: unknown) => live && setState((s) => ({ ...s, error })),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  useEffect(() => {
    if (!everyMs) return undefined;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [everyMs, reload]);
  return { data: state.data, error: state.error, reload };
}
