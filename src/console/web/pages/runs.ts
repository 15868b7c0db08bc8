/** Runs: newest first, filtered by pipeline, status and date, paged by the API's cursor, refreshed live. */
import { useState } from 'preact/hooks';
import { get, type ProjectJson, type RunSummary } from '../api';
import { ProblemBox, Shown, Status, useLoad } from '../components';
import { duration, html, startedBy, when } from '../html';
import { href, navigate, type Location } from '../router';
import { ProjectTagFilters } from './filters';

const STATUSES = ['', 'pending', 'running', 'succeeded', 'failed', 'cancelled'];

export function RunsPage({ location }: { location: Location }) {
  const q = location.query;
  const filters = { project: q.get('project') ?? '', tag: q.get('tag') ?? '', pipeline: q.get('pipeline') ?? '', status: q.get('status') ?? '', since: q.get('since') ?? '', until: q.get('until') ?? '' };
  const cursor = q.get('cursor') ?? '';
  const [live, setLive] = useState(true);
  const query = new URLSearchParams(Object.entries({
    ...filters,
    since: filters.since ? new Date(`${filters.since}T00:00:00`).toISOString() : '',
    until: filters.until ? new Date(`${filters.until}T23:59:59`).toISOString() : '',
    cursor,
    limit: '20',
  }).filter((e) => e[1] !== '')).toString();
  const { data, error } = useLoad(() => get<{ runs: RunSummary[]; nextCursor: string | null; partial?: boolean }>(`runs?${query}`), query, live && !cursor ? 3000 : undefined);
  const pipelines = useLoad(() => get<{ projects?: ProjectJson[]; pipelines: { name: string; project?: string }[] }>('pipelines'), 'names');
  const set = (name: string) => (e: Event) => navigate(href(['runs'], { ...filters, [name]: (e.target as HTMLInputElement).value }));
  return html`<section>
    <h1>Runs</h1>
    <${ProjectTagFilters} page="runs" filters=${{ project: filters.project, tag: filters.tag }} projects=${pipelines.data?.projects ?? []} rest=${{ pipeline: filters.pipeline, status: filters.status, since: filters.since, until: filters.until }} />
    <form class="filters" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Filter runs">
      <label>Pipeline <select value=${filters.pipeline} onChange=${set('pipeline')}>
        <option value="">all</option>${pipelines.data?.pipelines.filter((p) => !filters.project || (p.project ?? 'default') === filters.project).map((p) => html`<option value=${p.name}>${p.name}</option>`)}</select></label>
      <label>Status <select value=${filters.status} onChange=${set('status')}>${STATUSES.map((s) => html`<option value=${s}>${s || 'all'}</option>`)}</select></label>
      <label>From <input type="date" value=${filters.since} onChange=${set('since')} /></label>
      <label>To <input type="date" value=${filters.until} onChange=${set('until')} /></label>
      <label class="inline"><input type="checkbox" checked=${live} onChange=${() => setLive(!live)} /> Live refresh</label>
    </form>
    <${ProblemBox} error=${error} />
    <div class="scroll"><table class="runs">
      <thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Pipeline</th><th scope="col">Started by</th><th scope="col">Created</th><th scope="col">Duration</th><th scope="col">Project</th><th scope="col">Tags</th></tr></thead>
      <tbody>${data?.runs.map((r) => html`<tr key=${r.runId}>
        <th scope="row"><a href=${href(['runs', r.runId])}><${Shown} text=${r.runId} /></a></th>
        <td><${Status} status=${r.status} /></td><td><${Shown} text=${r.pipeline} /></td><td><${Shown} text=${startedBy(r.trigger)} /></td>
        <td>${when(r.createdAt)}</td><td>${duration(r.durationSeconds)}</td><td><${Shown} text=${r.project ?? 'default'} /></td>
        <td>${(r.tags ?? []).map((t) => html`<a class="tag" href=${href(['runs'], { ...filters, tag: t, cursor: undefined })}><${Shown} text=${t} /></a> `)}</td></tr>`)}</tbody>
    </table></div>
    ${data?.partial ? html`<p class="muted">This page stopped after searching ${data.runs.length === 0 ? 'the latest runs without a match' : 'part of the history'}; the next page searches older runs.</p>` : data && data.runs.length === 0 ? html`<p class="muted">No runs match.</p>` : null}
    <nav class="pager" aria-label="Pages">
      ${cursor ? html`<a href=${href(['runs'], filters)}>First page</a>` : null}
      ${data?.nextCursor ? html`<a href=${href(['runs'], { ...filters, cursor: data.nextCursor })}>Next page</a>` : null}
    </nav>
  </section>`;
}
