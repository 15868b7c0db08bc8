/**
 * Backfills: the list with progress, and one backfill's slots (local time, DST mark, state, run,
 * reason) with Cancel for operators. Refreshed live while a backfill runs.
 */
import { get, operates, post, type BackfillJson, type Me } from '../api';
import { ConfirmButton, ProblemBox, Shown, Status, useLoad } from '../components';
import { html, utc, when } from '../html';
import { href } from '../router';
import { useState } from 'preact/hooks';

const ORDER = ['succeeded', 'failed', 'running', 'starting', 'queued', 'skipped', 'cancelled'] as const;

export function Progress({ counts }: { counts: BackfillJson['counts'] }) {
  const total = Object.values(counts).reduce((n, v) => n + v, 0);
  const settled = counts.succeeded + counts.failed + counts.cancelled + counts.skipped;
  return html`<span class="progress">
    <progress max=${total} value=${settled} aria-label=${`${settled} of ${total} slots settled`}></progress>
    ${ORDER.filter((s) => counts[s] > 0).map((s) => html` <span class=${`badge status-${s}`}>${counts[s]} ${s}</span>`)}
  </span>`;
}

export function BackfillsPage() {
  const { data, error } = useLoad(() => get<{ backfills: BackfillJson[] }>('backfills'), 'backfills', 5000);
  return html`<section>
    <h1>Backfills</h1>
    <p class="muted">Start one with <code>durable-pipelines backfill &lt;pipeline&gt; --from … --to …</code>: one run per slot the schedule would have fired.</p>
    <${ProblemBox} error=${error} />
    <div class="scroll"><table>
      <thead><tr><th scope="col">Backfill</th><th scope="col">Pipeline / schedule</th><th scope="col">Range (UTC)</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">By</th></tr></thead>
      <tbody>${data?.backfills.map((b) => html`<tr key=${b.id}>
        <th scope="row"><a href=${href(['backfills', b.id])}>${b.id}</a></th>
        <td>${b.pipeline} / ${b.schedule}</td><td>${utc(b.from)} – ${utc(b.to)}</td>
        <td><${Status} status=${b.state} /></td><td><${Progress} counts=${b.counts} /></td><td><${Shown} text=${b.createdBy ?? ''} /></td></tr>`)}</tbody>
    </table></div>
    ${data && data.backfills.length === 0 ? html`<p class="muted">No backfill yet.</p>` : null}
  </section>`;
}

export function BackfillPage({ id, me }: { id: string; me: Me }) {
  const { data: b, error, reload } = useLoad(() => get<BackfillJson>(`backfills/${encodeURIComponent(id)}`), id, 3000);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const running = b?.state === 'running';
  return html`<section>
    <p><a href=${href(['backfills'])}>Backfills</a> › ${id}</p>
    <h1>Backfill <code>${id}</code> ${b ? html`<${Status} status=${b.state} />` : null}</h1>
    <${ProblemBox} error=${error} />
    ${b ? html`<dl class="facts">
        <dt>Pipeline</dt><dd>${b.pipeline} / <a href=${href(['pipelines', b.pipeline, 'schedules', b.schedule])}>${b.schedule}</a></dd>
        <dt>Range</dt><dd>${utc(b.from)} – ${utc(b.to)}</dd>
        <dt>Mode</dt><dd>${b.mode}, ${b.maxParallel} at once</dd>
        <dt>Started</dt><dd>${when(b.createdAt)} <span class="muted">by <${Shown} text=${b.createdBy ?? 'unknown'} /></span></dd>
        ${b.cancelledBy ? html`<dt>Cancelled by</dt><dd><${Shown} text=${b.cancelledBy} /></dd>` : null}
        <dt>Progress</dt><dd><${Progress} counts=${b.counts} /></dd>
      </dl>
      ${operates(me, b.project) && running ? html`<div class="actions" role="group" aria-label="Backfill actions">
        <${ConfirmButton} className="danger" label="Cancel backfill" question=${`Cancel backfill ${id}? Queued slots are dropped and running runs cancelled.`}
          confirm="Yes, cancel the backfill" keep="Keep it going" onConfirm=${() => post(`backfills/${encodeURIComponent(id)}/cancel`).then(() => { setActionError(undefined); reload(); }, setActionError)} />
        <${ProblemBox} error=${actionError} /></div>` : null}
      <div class="scroll"><table>
        <thead><tr><th scope="col">Slot (local)</th><th scope="col">UTC</th><th scope="col">State</th><th scope="col">Run</th><th scope="col">Reason</th></tr></thead>
        <tbody>${(b.slots ?? []).map((s) => html`<tr key=${s.slot}>
          <th scope="row">${s.local}${s.dst ? html` <span class="badge dst">DST ${s.dst}</span>` : null}</th><td>${utc(s.slot)}</td>
          <td><${Status} status=${s.state} /></td>
          <td>${s.runId ? html`<a href=${href(['runs', s.runId])}>${s.runId}</a>` : '—'}</td><td><${Shown} text=${s.reason ?? ''} /></td></tr>`)}</tbody>
      </table></div>` : null}
  </section>`;
}
