/**
 * Payloads for Slack incoming webhooks (text + Block Kit) and Microsoft Teams workflow webhooks
 * (a message with an Adaptive Card attachment). Pure: text is masked and bounded by the caller
 * and here (Slack: header ≤ 150, field ≤ 2000, section ≤ 3000 characters).
 */
import type { RunEvent } from './event';

export interface Facts {
  readonly headline: string;
  readonly facts: readonly (readonly [string, string])[];
  readonly error: string | undefined;
  readonly link: string | undefined;
}

const ICON = { failed: '❌', succeeded: '✅', late: '⏰' } as const;

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

export function factsOf(event: RunEvent, link: string | undefined, error: string | undefined): Facts {
  const name = event.title ?? event.pipeline;
  const verb = event.kind === 'late' ? 'is late' : event.notStarted ? 'could not start its scheduled run' : event.kind;
  const facts: [string, string][] = [['Pipeline', event.pipeline]];
  if (event.runId) facts.push(['Run', event.runId]);
  if (event.failedStep) facts.push(['Failed step', event.failedStep]);
  if (event.durationSeconds !== undefined) facts.push(['Duration', formatDuration(event.durationSeconds)]);
  if (event.schedule) facts.push(['Schedule', event.schedule]);
  if (event.scheduledFor) facts.push(['Scheduled for', event.scheduledFor]);
  if (event.lateBySeconds !== undefined) facts.push(['Late by', formatDuration(event.lateBySeconds)]);
  return { headline: `${ICON[event.kind]} ${name} ${verb}`, facts, error, link };
}

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
/** Slack mrkdwn control characters. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackPayload(f: Facts): Record<string, unknown> {
  const summary = [f.headline, ...f.facts.filter(([k]) => k !== 'Pipeline').map(([k, v]) => `${k}: ${v}`)].join(' · ');
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(f.headline, 150), emoji: true } },
    { type: 'section', fields: f.facts.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: cut(`*${k}*\n${slackEscape(v)}`, 2000) })) },
  ];
  if (f.error) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`*Error*\n\`\`\`${slackEscape(f.error)}\`\`\``, 3000) } });
  if (f.link) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open run' }, url: f.link }] });
  return { text: slackEscape(cut(f.error ? `${summary}: ${f.error}` : summary, 3000)), blocks };
}

export function teamsPayload(f: Facts, kind: RunEvent['kind']): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', size: 'Large', weight: 'Bolder', wrap: true, text: f.headline, color: kind === 'failed' ? 'Attention' : kind === 'late' ? 'Warning' : 'Good' },
    { type: 'FactSet', facts: f.facts.map(([title, value]) => ({ title, value })) },
  ];
  if (f.error) body.push({ type: 'TextBlock', text: f.error, wrap: true, fontType: 'Monospace', spacing: 'Medium' });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(f.link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open run', url: f.link }] } : {}),
        },
      },
    ],
  };
}
