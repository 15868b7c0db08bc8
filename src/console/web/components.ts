/** Small pieces the pages share: status badges, problem messages, shown text, data loading with refresh. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
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

/**
 * Loads on mount and when `key` changes; `everyMs` re-loads while the page is open (live refresh).
 * What it returns always belongs to the current `key`: the data of the previous key is never shown
 * under the new one (a run's timeline under another run's address), and an answer for a key the
 * page has left is dropped.
 */
export function useLoad<T>(load: () => Promise<T>, key: string, everyMs?: number): Loaded<T> {
  const [state, setState] = useState<{ key?: string; data?: T; error?: unknown }>({});
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ key, data }),
      (error: unknown) => live && setState((s) => (s.key === key ? { ...s, error } : { key, error })),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  useEffect(() => {
    if (!everyMs) return undefined;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [everyMs, reload, key]);
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, reload };
}

/**
 * A button whose action needs a second, explicit click: the first shows what will happen and a
 * confirm button (focused, so Enter confirms and Escape or "Keep" backs out). For actions that stop
 * work (cancel a run, pause a schedule).
 */
export function ConfirmButton({ label, question, confirm, keep, onConfirm, className }: {
  label: unknown;
  question: string;
  confirm: string;
  keep: string;
  onConfirm: () => void;
  className?: string;
}) {
  const [asking, setAsking] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking) return html`<button class=${className} onClick=${() => setAsking(true)}>${label}</button>`;
  return html`<span class="confirm" role="group" aria-label=${question} onKeyDown=${(e: KeyboardEvent) => e.key === 'Escape' && setAsking(false)}>
    <span>${question}</span>
    <button class=${className} ref=${yes} onClick=${() => { setAsking(false); onConfirm(); }}>${confirm}</button>
    <button onClick=${() => setAsking(false)}>${keep}</button>
  </span>`;
}
