/**
 * Payloads for Slack incoming webhooks (text + Block Kit) and Microsoft Teams workflow webhooks
 * (a message with an Adaptive Card attachment). Pure: text is masked and bounded by the caller
 * and here (Slack: header ≤ 150, field ≤ 2000, section ≤ 3000 characters).
 */
import { oneLine } from '../core/visibleText';
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


/**
 * Text for a Slack text object, as plain text: one line (a service's error cannot forge lines or
 * reorder them with bidi controls), then Slack's three control characters as entities — "&, < and >
 * … must be converted to HTML entities" in every text object (api.slack.com "Formatting text for
 * app surfaces", Escaping text), or `<!channel>` and `<https://…|label>` would be parsed.
 */
const slackText = (text: string) => oneLine(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** `cut` for escaped Slack text: never leaves half an entity (`&am…`) at the end. */
const cutSlack = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…` : text);

/**
 * Slack: every text object is `plain_text` (Block Kit renders it as written: no *bold*, _italic_,
 * `code` or links from a service's text) with emoji shortcodes left as typed, and the fallback
 * `text` — what notifications show — is sent with `mrkdwn: false` (chat.postMessage's switch,
 * accepted by incoming webhooks). Limits: header ≤ 150, field ≤ 2000, section ≤ 3000 characters.
 */
export function slackPayload(f: Facts): Record<string, unknown> {
  const plain = (text: string, max: number) => ({ type: 'plain_text', text: cutSlack(slackText(text), max), emoji: false });
  const summary = [f.headline, ...f.facts.filter(([k]) => k !== 'Pipeline').map(([k, v]) => `${k}: ${v}`)].join(' · ');
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: plain(f.headline, 150) },
    { type: 'section', fields: f.facts.slice(0, 10).map(([k, v]) => ({ type: 'plain_text', text: cutSlack(`${k}\n${slackText(v)}`, 2000), emoji: false })) },
  ];
  if (f.error) blocks.push({ type: 'section', text: plain(`Error: ${f.error}`, 3000) });
  if (f.link) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open run' }, url: f.link }] });
  return { text: cutSlack(slackText(f.error ? `${summary}: ${f.error}` : summary), 3000), mrkdwn: false, blocks };
}

/**
 * Teams: every text that is not ours is a `TextRun` in a `RichTextBlock`, which Adaptive Cards
 * render without Markdown ("Markdown is not supported", Adaptive Cards schema, TextRun); a
 * TextBlock or a FactSet value would render a service's `**bold**` or `[link](https://…)`
 * (Teams: "Markdown is supported in … TextBlock … and Fact.Title and Fact.Value"). One line each.
 */
export function teamsPayload(f: Facts, kind: RunEvent['kind']): Record<string, unknown> {
  const run = (text: string, style: Record<string, string> = {}) => ({ type: 'TextRun', text: oneLine(text), ...style });
  const body: Record<string, unknown>[] = [
    { type: 'RichTextBlock', inlines: [run(f.headline, { size: 'Large', weight: 'Bolder', color: kind === 'failed' ? 'Attention' : kind === 'late' ? 'Warning' : 'Good' })] },
    ...f.facts.map(([title, value]) => ({ type: 'RichTextBlock', spacing: 'None', inlines: [run(`${title}: `, { weight: 'Bolder' }), run(value)] })),
  ];
  if (f.error) body.push({ type: 'RichTextBlock', spacing: 'Medium', inlines: [run(f.error, { fontType: 'Monospace' })] });
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
