/**
 * Pipelines: each with its step graph, schedules (next fire in the schedule's zone, the viewer's
 * and UTC, DST gaps and overlaps marked), pause/resume, the last run and a Run form generated from
 * the declared parameters. Validation messages are the API's, shown beside the field they name.
 */
import { useEffect, useState } from 'preact/hooks';
import { get, post, ApiError, type Me, type ParameterSpec, type PipelineJson, type ProjectJson, type ScheduleJson } from '../api';
import { ConfirmButton, ProblemBox, Status, useLoad } from '../components';
import { html, utc, when } from '../html';
import { href, navigate, type Location } from '../router';
import { ProjectTagFilters, projectTagQuery } from './filters';

/** Pipelines grouped by project (only the projects the user may see: the API lists no other), filtered by project and tag. */
export function PipelinesPage({ me, location }: { me: Me; location: Location }) {
  const filters = { project: location.query.get('project') ?? '', tag: location.query.get('tag') ?? '' };
  const query = projectTagQuery(filters);
  const { data, error, reload } = useLoad(() => get<{ schedulerEnabled: boolean; projects?: ProjectJson[]; pipelines: PipelineJson[] }>(`pipelines${query ? `?${query}` : ''}`), `pipelines?${query}`, 10_000);
  const projects = data?.projects ?? [{ name: 'default', title: 'default', description: '', canOperate: me.canOperate }];
  const groups = projects.map((project) => ({ project, pipelines: (data?.pipelines ?? []).filter((p) => (p.project ?? 'default') === project.name) })).filter((g) => g.pipelines.length > 0);
  return html`<section>
    <h1>Pipelines</h1>
    <${ProjectTagFilters} page="pipelines" filters=${filters} projects=${projects} />
    <${ProblemBox} error=${error} />
    ${data && !data.schedulerEnabled ? html`<p class="note">The scheduler is off (SCHEDULER_ENABLED=false): schedules do not fire.</p>` : null}
    ${data && groups.length === 0 ? html`<p class="muted">No pipelines match.</p>` : null}
    ${groups.map(({ project, pipelines }) => html`<section class="project" aria-labelledby=${`project-${project.name}`} key=${project.name}>
      <h2 class="project-head" id=${`project-${project.name}`}>Project ${project.title}${project.title !== project.name ? html` <small class="muted">${project.name}</small>` : null}
        <small class="muted"> · <a href=${href(['runs'], { project: project.name })}>runs</a></small></h2>
      ${project.description ? html`<p class="muted">${project.description}</p>` : null}
      ${pipelines.map((p) => html`<${PipelineCard} key=${p.name} pipeline=${p} me=${me} onChange=${reload} />`)}
    </section>`)}
  </section>`;
}

function PipelineCard({ pipeline, me, onChange }: { pipeline: PipelineJson; me: Me; onChange: () => void }) {
  const [running, setRunning] = useState(false);
  // Servers that predate projects say nothing per pipeline: the global role decides.
  const canOperate = pipeline.canOperate ?? me.canOperate;
  return html`<article class="card" aria-labelledby=${`p-${pipeline.name}`}>
    <header class="card-head">
      <div>
        <h3 id=${`p-${pipeline.name}`}>${pipeline.title ?? pipeline.name} <small class="muted">${pipeline.name}</small></h3>
        ${pipeline.description ? html`<p class="muted">${pipeline.description}</p>` : null}
        <p>${pipeline.tags.map((t) => html`<a class="tag" href=${href(['pipelines'], { tag: t })}>${t}</a> `)}${(pipeline.pools ?? []).map((pool) => html`<span class="tag pool" title="a shared pool each run holds a slot of">pool ${pool}</span> `)}</p>
      </div>
      ${canOperate ? html`<button class="primary" onClick=${() => setRunning(!running)} aria-expanded=${running}>Run…</button>` : null}
    </header>
    ${running ? html`<${RunForm} pipeline=${pipeline} onClose=${() => setRunning(false)} />` : null}
    <h4>Steps</h4>
    <${Dag} steps=${pipeline.steps} />
    <h4>Last run</h4>
    <p>${pipeline.lastRun
      ? html`<a href=${href(['runs', pipeline.lastRun.runId])}>${pipeline.lastRun.runId}</a> <${Status} status=${pipeline.lastRun.status} /> ${when(pipeline.lastRun.createdAt)}`
      : 'never run'} · <a href=${href(['runs'], { pipeline: pipeline.name })}>all runs</a></p>
    <h4>Schedules</h4>
    ${pipeline.schedules.length === 0 ? html`<p class="muted">none</p>` : html`<div class="scroll"><table class="stack">
      <thead><tr><th scope="col">Schedule</th><th scope="col">Cron</th><th scope="col">Next fire</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${pipeline.schedules.map((s) => html`<${ScheduleRow} key=${s.name} pipeline=${pipeline.name} schedule=${s} canOperate=${canOperate} onChange=${onChange} />`)}</tbody>
    </table></div>`}
  </article>`;
}

function ScheduleRow({ pipeline, schedule, canOperate, onChange }: { pipeline: string; schedule: ScheduleJson; canOperate: boolean; onChange: () => void }) {
  const [error, setError] = useState<unknown>(undefined);
  const toggle = () => {
    post(`pipelines/${encodeURIComponent(pipeline)}/schedules/${encodeURIComponent(schedule.name)}/${schedule.paused ? 'resume' : 'pause'}`).then(
      () => {
        setError(undefined);
        onChange();
      },
      setError,
    );
  };
  const next = schedule.nextRun;
  return html`<tr>
    <th scope="row"><a href=${href(['pipelines', pipeline, 'schedules', schedule.name])}>${schedule.name}</a>
      <div>${schedule.tags.map((t) => html`<span class="tag">${t}</span> `)}</div></th>
    <td data-label="Cron"><code>${schedule.cron}</code><div class="muted">${schedule.timezone}</div></td>
    <td data-label="Next fire">${next ? html`${schedule.state === 'scheduler off' ? html`<div class="muted">would fire (the scheduler is off):</div>` : null}<div>${next.local} <span class="muted">(${schedule.timezone})</span></div>
      <div class="muted">${when(next.utc)} your time · ${utc(next.utc)}</div>
      ${next.dst ? html`<span class="badge dst" title="daylight-saving change on this slot">DST ${next.dst}</span>` : null}` : html`<span class="muted">—</span>`}</td>
    <td data-label="State"><${ScheduleState} schedule=${schedule} /></td>
    <td>${canOperate && schedule.enabled
      ? schedule.paused
        ? html`<button onClick=${toggle}>Resume <span class="sr-only">${schedule.name}</span></button>`
        : html`<${ConfirmButton} label=${html`Pause <span class="sr-only">${schedule.name}</span>`} question=${`Pause ${schedule.name}? Its slots are skipped until you resume it.`}
            confirm="Yes, pause" keep="Keep it active" onConfirm=${toggle} />`
      : null}
      <${ProblemBox} error=${error} /></td>
  </tr>`;
}

/** The API's state word (the one `schedules ls` prints), with why a failing schedule fails. */
function ScheduleState({ schedule }: { schedule: ScheduleJson }) {
  const tone: Record<ScheduleJson['state'], string> = { active: 'status-succeeded', failing: 'status-failed', paused: 'status-cancelled', disabled: 'status-skipped', 'scheduler off': 'status-cancelled' };
  const failure = schedule.state === 'failing' ? schedule.lastStartFailure : null;
  return html`<span class=${`badge ${tone[schedule.state] ?? ''}`}>${schedule.state}</span>
    ${failure ? html`<div class="error-text">the slot of ${utc(failure.slot)} could not start its run: ${failure.reason}</div>` : null}`;
}

/** True while the viewport is at most `px` wide (follows resizes and rotation). */
function useNarrow(px: number): boolean {
  const query = `(max-width: ${px}px)`;
  const [narrow, setNarrow] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const list = window.matchMedia(query);
    const onChange = () => setNarrow(list.matches);
    list.addEventListener('change', onChange);
    return () => list.removeEventListener('change', onChange);
  }, [query]);
  return narrow;
}

/** The DAG, layered by longest path from a root: columns are levels (rows on a narrow screen), arrows are dependencies. */
function Dag({ steps }: { steps: PipelineJson['steps'] }) {
  const level = new Map<string, number>();
  const depth = (id: string, seen: Set<string> = new Set()): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const step = steps.find((s) => s.id === id);
    const value = step && step.dependsOn.length > 0 ? 1 + Math.max(...step.dependsOn.map((d) => depth(d, seen))) : 0;
    level.set(id, value);
    return value;
  };
  steps.forEach((s) => depth(s.id));
  // On a phone the levels go down the screen, so a chain of steps fits its width.
  const vertical = useNarrow(600);
  const rows = new Map<number, number>();
  const position = new Map<string, { x: number; y: number }>();
  for (const s of steps) {
    const l = level.get(s.id) ?? 0;
    const row = rows.get(l) ?? 0;
    rows.set(l, row + 1);
    position.set(s.id, vertical ? { x: 10 + row * 170, y: 10 + l * 80 } : { x: 10 + l * 190, y: 10 + row * 70 });
  }
  const levels = Math.max(0, ...level.values()) + 1;
  const across = Math.max(1, ...rows.values());
  const width = vertical ? 10 + across * 170 : 10 + levels * 190;
  const height = vertical ? 10 + levels * 80 : 10 + across * 70;
  return html`<div class="scroll"><svg class="dag" viewBox=${`0 0 ${width} ${height}`} width=${width} height=${height} role="img" aria-label=${`Step graph: ${steps.map((s) => `${s.dependsOn.length ? `${s.id} after ${s.dependsOn.map((d) => (s.conditions?.[d] ? `${d} ${s.conditions[d]}` : d)).join(', ')}` : s.id}${s.when ? ` when ${s.when}` : ''}${s.forEach ? ', for each item' : ''}${s.calls ? ` (runs pipeline ${s.calls})` : ''}`).join('; ')}`}>
    ${steps.flatMap((s) => s.dependsOn.map((d) => {
      const from = position.get(d);
      const to = position.get(s.id);
      if (!from || !to) return null;
      const path = vertical
        ? `M${from.x + 80},${from.y + 50} C${from.x + 80},${from.y + 65} ${to.x + 80},${to.y - 15} ${to.x + 80},${to.y}`
        : `M${from.x + 160},${from.y + 25} C${from.x + 175},${from.y + 25} ${to.x - 15},${to.y + 25} ${to.x},${to.y + 25}`;
      // A condition other than `succeeded` is said on its edge (run on failure, on completion…).
      const condition = s.conditions?.[d];
      const label = condition ? html`<text class="muted edge-label" x=${(from.x + to.x) / 2 + (vertical ? 90 : 80)} y=${(from.y + to.y) / 2 + (vertical ? 35 : 20)}>on ${condition}</text>` : null;
      return html`<path class=${condition ? `edge edge-${condition}` : 'edge'} d=${path} />${label}`;
    }))}
    ${steps.map((s) => {
      const p = position.get(s.id) ?? { x: 0, y: 0 };
      const marks = `${s.forEach ? ` · each ×${s.forEach.maxParallel}` : ''}${s.when ? ' · when' : ''}`;
      return html`<g class=${s.calls ? 'node node-pipeline' : 'node'}><title>${[s.title, s.calls ? `runs pipeline ${s.calls} as a child run` : '', s.when ? `when ${s.when}` : '', s.forEach ? `for each item, ${s.forEach.maxParallel} at a time (${s.forEach.onItemFailure})` : ''].filter((x) => x !== '').join('\n')}</title><rect x=${p.x} y=${p.y} width="160" height="50" rx="6" /><text x=${p.x + 10} y=${p.y + 21}>${s.title.slice(0, 22)}</text><text class="muted" x=${p.x + 10} y=${p.y + 40}>${`${s.id} · ${s.calls ? `▶ ${s.calls}` : s.kind}${marks}`.slice(0, 26)}</text></g>`;
    })}
  </svg></div>`;
}

function RunForm({ pipeline, onClose }: { pipeline: PipelineJson; onClose: () => void }) {
  const specs = Object.entries(pipeline.parameters);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(specs.map(([name, spec]) => [name, spec.default === undefined || fromRun(spec) ? '' : typeof spec.default === 'string' ? spec.default : JSON.stringify(spec.default)])),
  );
  const [idempotencyKey, setKey] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const fieldErrors = error instanceof ApiError ? error.problem.invalidFields ?? [] : [];
  const errorFor = (name: string) => fieldErrors.find((f) => f.field === `body.parameters.${name}` || f.field === `body.${name}`)?.message;
  const submit = (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const parameters = Object.fromEntries(specs.filter(([name]) => values[name] !== '').map(([name, spec]) => [name, convert(spec, values[name] ?? '')]));
    post<{ runId: string }>(`pipelines/${encodeURIComponent(pipeline.name)}/runs`, { parameters, ...(idempotencyKey ? { idempotencyKey } : {}) }).then(
      (started) => navigate(href(['runs', started.runId])),
      (e: unknown) => {
        setBusy(false);
        setError(e);
      },
    );
  };
  return html`<form class="run-form" onSubmit=${submit} aria-label=${`Run ${pipeline.name}`}>
    ${specs.length === 0 ? html`<p class="muted">This pipeline declares no parameters.</p>` : null}
    ${specs.map(([name, spec]) => html`<${ParameterField} key=${name} name=${name} spec=${spec} value=${values[name] ?? ''}
      error=${errorFor(name)} onInput=${(v: string) => setValues({ ...values, [name]: v })} />`)}
    <label>Idempotency key <span class="muted">(optional: the same key never starts a second run)</span>
      <input name="idempotencyKey" value=${idempotencyKey} onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} /></label>
    <${ProblemBox} error=${error} />
    <div class="actions"><button class="primary" type="submit" disabled=${busy}>Start run</button> <button type="button" onClick=${onClose}>Close</button></div>
  </form>`;
}

/** A default the run supplies (`{ run: 'logicalDate' }`): left empty in the form, filled when the run starts. */
function fromRun(spec: ParameterSpec): boolean {
  return typeof spec.default === 'object' && spec.default !== null && 'run' in spec.default;
}

function ParameterField({ name, spec, value, error, onInput }: { name: string; spec: ParameterSpec; value: string; error?: string; onInput: (v: string) => void }) {
  const id = `param-${name}`;
  const required = spec.default === undefined && spec.type !== 'boolean';
  const set = (e: Event) => onInput((e.target as HTMLInputElement).type === 'checkbox' ? String((e.target as HTMLInputElement).checked) : (e.target as HTMLInputElement).value);
  const described = [error ? `${id}-error` : '', `${id}-hint`].filter(Boolean).join(' ');
  // A date is typed as the API takes it (YYYY-MM-DD), not in the browser's locale (mm/dd/yyyy).
  const hint = spec.type === 'date' ? (fromRun(spec) ? "YYYY-MM-DD; empty: the run's logical date (today, UTC)" : 'YYYY-MM-DD') : '';
  const input = spec.type === 'boolean'
    ? html`<input id=${id} type="checkbox" checked=${value === 'true'} onChange=${set} aria-invalid=${error ? 'true' : undefined} />`
    : spec.enum
      ? html`<select id=${id} value=${value} onChange=${set} required=${required}>${[...(required ? [] : ['']), ...spec.enum.map(String)].map((o) => html`<option value=${o}>${o || '(default)'}</option>`)}</select>`
      : spec.type === 'date'
        ? html`<input id=${id} type="text" inputmode="numeric" autocomplete="off" pattern="\\d{4}-\\d{2}-\\d{2}" placeholder="YYYY-MM-DD" value=${value} onInput=${set}
            required=${required} aria-invalid=${error ? 'true' : undefined} aria-describedby=${described} />`
        : html`<input id=${id} type=${spec.type === 'string' ? 'text' : 'number'} value=${value} onInput=${set} required=${required}
            aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? `${id}-error` : undefined} />`;
  return html`<div class="field"><label for=${id}>${name} <span class="muted">${spec.type}${required ? ' (required)' : ''}${spec.description ? ` — ${spec.description}` : ''}</span></label>
    ${input}${hint ? html`<div class="muted" id=${`${id}-hint`}>${hint}</div>` : null}${error ? html`<div class="field-error" id=${`${id}-error`}>${error}</div>` : null}</div>`;
}

function convert(spec: ParameterSpec, raw: string): unknown {
  if (spec.type === 'boolean') return raw === 'true';
  // Sent as typed; a value that is not a number goes as text so the API names the field.
  if (spec.type === 'number' || spec.type === 'integer') return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return raw;
}
