/** Schedule history: every slot the scheduler evaluated — fired, late, missed, skipped — with its reason. */
import { get, type SlotJson } from '../api';
import { ProblemBox, Shown, useLoad } from '../components';
import { html, utc } from '../html';
import { href } from '../router';

export function SlotsPage({ pipeline, schedule }: { pipeline: string; schedule: string }) {
  const path = `pipelines/${encodeURIComponent(pipeline)}/schedules/${encodeURIComponent(schedule)}/slots`;
  const { data, error } = useLoad(() => get<{ timezone: string; slots: SlotJson[] }>(path), path, 10_000);
  return html`<section>
    <p><a href=${href(['pipelines'])}>Pipelines</a> › ${pipeline}</p>
    <h1>Schedule ${schedule} <small class="muted">${data?.timezone ?? ''}</small></h1>
    <${ProblemBox} error=${error} />
    <div class="scroll"><table>
      <thead><tr><th scope="col">Slot (local)</th><th scope="col">UTC</th><th scope="col">Outcome</th><th scope="col">Late by</th><th scope="col">Run</th><th scope="col">Reason</th></tr></thead>
      <tbody>${data?.slots.map((s) => html`<tr key=${s.slot}>
        <th scope="row">${s.local}${s.dst ? html` <span class="badge dst">DST ${s.dst}</span>` : null}</th>
        <td>${utc(s.slot)}</td><td><span class=${`badge outcome-${s.outcome}`}>${s.outcome}</span></td>
        <td>${s.lateBySeconds > 0 ? `${s.lateBySeconds} s` : '—'}</td>
        <td>${s.runId ? html`<a href=${href(["runs", s.runId])}>${s.runId}</a>` : '—'}</td><td><${Shown} text=${s.reason} /></td></tr>`)}</tbody>
    </table></div>
    ${data && data.slots.length === 0 ? html`<p class="muted">No slots recorded yet: the scheduler records each slot when it evaluates it.</p>` : null}
  </section>`;
}
