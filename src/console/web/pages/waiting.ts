/**
 * Steps that wait for a person: what each asks, since when and until when, with Approve and Reject
 * (and a comment) for operators. The same buttons appear on the run's page.
 */
import { useState } from 'preact/hooks';
import { get, operates, post, type ApprovalJson, type Me } from '../api';
import { ProblemBox, Shown, useLoad } from '../components';
import { html, utc } from '../html';
import { href } from '../router';

export function DecisionButtons({ runId, stepId, onDone }: { runId: string; stepId: string; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const decide = (verb: 'approve' | 'reject') => {
    post(`runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}/${verb}`, comment ? { comment } : {}).then(() => {
      setError(undefined);
      onDone();
    }, setError);
  };
  return html`<span class="inline-form" role="group" aria-label=${`Decide step ${stepId} of run ${runId}`}>
    <label>Comment <input value=${comment} maxLength="1000" onInput=${(e: Event) => setComment((e.target as HTMLInputElement).value)} /></label>
    <button class="primary" onClick=${() => decide('approve')}>Approve</button>
    <button class="danger" onClick=${() => decide('reject')}>Reject</button>
    <${ProblemBox} error=${error} />
  </span>`;
}

export function WaitingPage({ me }: { me: Me }) {
  const { data, error, reload } = useLoad(() => get<{ waiting: ApprovalJson[] }>('approvals'), 'approvals', 5000);
  // The Decision column when the caller operates any listed step's project.
  const deciding = (data?.waiting ?? []).some((w) => operates(me, w.project)) || me.canOperate;
  return html`<section>
    <h1>Waiting for approval</h1>
    <${ProblemBox} error=${error} />
    <div class="scroll"><table>
      <thead><tr><th scope="col">Run</th><th scope="col">Step</th><th scope="col">Asks</th><th scope="col">Since (UTC)</th><th scope="col">Until (UTC)</th><th scope="col">Who may decide</th>${deciding ? html`<th scope="col">Decision</th>` : null}</tr></thead>
      <tbody>${data?.waiting.map((w) => html`<tr key=${`${w.runId}/${w.stepId}`}>
        <th scope="row"><a href=${href(['runs', w.runId])}>${w.runId}</a></th><td>${w.stepId}</td><td><${Shown} text=${w.message} /></td>
        <td>${utc(w.since)}</td><td>${utc(w.until)}</td><td>${w.approvers ? w.approvers.join(', ') : 'anyone with Pipelines.Operate'}</td>
        ${deciding ? html`<td>${operates(me, w.project) ? html`<${DecisionButtons} runId=${w.runId} stepId=${w.stepId} onDone=${reload} />` : null}</td>` : null}</tr>`)}</tbody>
    </table></div>
    ${data && data.waiting.length === 0 ? html`<p class="muted">No step waits for a decision.</p>` : null}
  </section>`;
}
