/** htm bound to preact's `h`: tagged templates instead of JSX, so the console needs no JSX build step. */
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

/** `2026-11-29T20:15:31Z` → the viewer's local time, and the UTC one beside it. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function utc(iso: string | null | undefined): string {
  return iso ? `${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}` : '—';
}

export function duration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null) return '—';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${Math.round(seconds % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Who started a run, in words (shared with the CLI). */
export { describeTrigger as startedBy } from '../../core/trigger';

const SECRETISH = /secret|password|token|key|credential|connection/i;

/** A step output for display: values under secret-like names are hidden (the API masks known secrets too). */
export function masked(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => masked(v, depth + 1));
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRETISH.test(k) ? '••••••' : masked(v, depth + 1)]));
}
