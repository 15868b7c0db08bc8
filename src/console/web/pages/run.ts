/**
 * One run: a Gantt timeline of its steps (each attempt a bar, the retry waits between them
 * hatched, a pipeline retry marked), per-step metrics and (masked) outputs, the live log with
 * follow, and Cancel / Rerun from failed / Rerun from a step for operators.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, operates, post, type ApprovalJson, type LogLineJson, type Me, type RunDefinitionJson, type RunJson, type StepJson } from '../api';
import { DecisionButtons } from './waiting';
import { keepingLines, oneLine } from '../../../core/visibleText';
import { ConfirmButton, ProblemBox, Shown, Status, useLoad } from '../components';
import { duration, html, masked, startedBy, utc, when } from '../html';
import { href, navigate } from '../router';
import { repeatedErrorCompactor, sameErrorAs } from '../../../core/repeatedErrors';
import { itemCountsText, splitItems } from '../../../core/itemCounts';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export function RunPage({ runId, me }: { runId: string; me: Me }) {
  const [fast, setFast] = useState(true);
  // A finished run is still re-read, slowly: the run store and Durable can disagree for a moment
  // after the end (the record is written by an activity before the instance completes).
  // Every item: the timeline draws each item's attempts on its step's row (the list itself is built on demand).
  const { data: run, error, reload } = useLoad(() => get<RunJson>(`runs/${encodeURIComponent(runId)}?items=all`), runId, fast ? 1500 : 5000);
  const done = run ? TERMINAL.has(run.status) : false;
  useEffect(() => setFast(!done), [done]);
  return html`<section>
    <p><a href=${href(['runs'])}>Runs</a> › <${Shown} text=${run?.pipeline} /></p>
    <h1>Run <code><${Shown} text=${runId} /></code> ${run ? html`<${Status} status=${run.status} />` : null}</h1>
    <${ProblemBox} error=${error} />
    ${run ? html`<${Summary} run=${run} me=${me} />
      ${TERMINAL.has(run.status) ? null : html`<${Waiting} run=${run} me=${me} onDone=${() => { setFast(true); reload(); }} />`}
      <${Actions} run=${run} me=${me} onDone=${() => { setFast(true); reload(); }} />
      <h2>Timeline</h2><${Timeline} run=${run} />
      <h2>Steps</h2><${StepDetails} run=${run} />
      <h2>Log</h2><${Log} runId=${runId} finished=${done} />` : null}
  </section>`;
}

function Summary({ run, me }: { run: RunJson; me: Me }) {
  return html`<dl class="facts">
    <dt>Pipeline</dt><dd><a href=${href(['runs'], { pipeline: run.pipeline })}><${Shown} text=${run.pipeline} /></a></dd>
    ${run.project ? html`<dt>Project</dt><dd><a href=${href(['runs'], { project: run.project })}><${Shown} text=${run.project} /></a></dd>` : null}
    ${run.tags && run.tags.length ? html`<dt>Tags</dt><dd>${run.tags.map((t) => html`<a class="tag" href=${href(['runs'], { tag: t })}><${Shown} text=${t} /></a> `)}</dd>` : null}
    ${run.pool ? html`<dt>Waiting</dt><dd class="waiting-pool">waiting for pool <${Shown} text=${run.pool.name} /> (position ${run.pool.position})</dd>` : null}
    <dt>Started by</dt><dd><${Shown} text=${startedBy(run.trigger)} />${triggerLink(run)}</dd>
    <dt>Created</dt><dd>${when(run.createdAt)} <span class="muted">${utc(run.createdAt)}</span></dd>
    <dt>Duration</dt><dd>${duration(run.durationSeconds)}</dd>
    ${run.pipelineAttempt && run.pipelineAttempt > 1 ? html`<dt>Pipeline attempt</dt><dd>${run.pipelineAttempt} (pipeline-level retry)</dd>` : null}
    ${run.pipelineRetry ? html`<dt>Next</dt><dd class="waiting-retry">pipeline attempt ${run.pipelineRetry.attempt} at ${utc(run.pipelineRetry.at)}: the steps that did not succeed run again then</dd>` : null}
    ${run.definition ? html`<dt>Definition</dt><dd><${DefinitionFacts} runId=${run.runId} definition=${run.definition} /></dd>` : null}
    ${run.rerunOf ? html`<dt>Rerun of</dt><dd><a href=${href(['runs', run.rerunOf])}>${run.rerunOf}</a></dd>` : null}
    ${run.error ? html`<dt>Error</dt><dd class="error-text"><${Shown} text=${`${run.error.stepId ? `${run.error.stepId}: ` : ''}${run.error.message}`} /></dd>` : null}
    ${run.parameters && Object.keys(run.parameters).length ? html`<dt>Parameters</dt><dd><code><${Shown} text=${JSON.stringify(run.parameters)} /></code></dd>` : null}
    <dt>Telemetry</dt><dd>${me.appInsightsUrl
      ? html`<a href=${me.appInsightsUrl} target="_blank" rel="noopener">Application Insights</a> <span class="muted">(traces where customDimensions.runId == "${run.runId}")</span>`
      : html`<span class="muted">Application Insights not configured (APPLICATIONINSIGHTS_PORTAL_URL)</span>`}</dd>
  </dl>`;
}

const shortVersion = (version: string | null): string => (version === null ? 'unknown' : version.slice(0, 'sha256:'.length + 12));

/**
 * The version the run follows; when a deploy changed the pipeline since it started, the deployed
 * version and the changes (the run finishes on its own definition: docs/deploy.md).
 */
function DefinitionFacts({ runId, definition }: { runId: string; definition: NonNullable<RunJson['definition']> }) {
  const { data: diff, error } = useLoad(
    () => (definition.current ? Promise.resolve(undefined) : get<RunDefinitionJson>(`runs/${encodeURIComponent(runId)}/definition`)),
    `${runId} ${definition.version ?? ''} ${definition.currentVersion ?? ''}`,
  );
  const version = html`<code title=${definition.version ?? ''}>${shortVersion(definition.version)}</code>`;
  if (definition.current) return html`${version} <span class="muted">the deployed definition</span>`;
  const value = (v: unknown): string => (v === undefined ? '' : JSON.stringify(v));
  return html`${version} <span class="definition-changed">changed since the run started; deployed now: <code title=${definition.currentVersion ?? ''}>${shortVersion(definition.currentVersion)}</code></span>
    <${ProblemBox} error=${error} />
    ${diff?.changes
      ? html`<details class="definition-diff"><summary>${diff.changes.length} ${diff.changes.length === 1 ? 'change' : 'changes'} in the deployed definition</summary>
          <ul>${diff.changes.map((c) => html`<li class=${`change-${c.change}`}><code><${Shown} text=${c.path} /></code> ${c.change}${c.change === 'changed'
            ? html`: <code><${Shown} text=${value(c.before)} /></code> → <code><${Shown} text=${value(c.after)} /></code>`
            : html`: <code><${Shown} text=${value(c.change === 'added' ? c.after : c.before)} /></code>`}</li>`)}</ul>
        </details>`
      : null}`;
}

/** A fresh idempotency-key suffix for the next action (the page is a secure context: localhost or https). */
const newIntent = (): string => crypto.randomUUID();

/** Where the run came from, linked: its backfill, the upstream run, the slot history of its schedule. */
function triggerLink(run: RunJson) {
  const t = run.trigger;
  if (!t?.origin) return null;
  if (t.kind === 'backfill') return html` · <a href=${href(['backfills', t.origin])}>backfill ${t.origin}</a>`;
  if (run.parent) return html` · <a class="parent-run" href=${href(['runs', run.parent.runId])}>parent run</a> (step <${Shown} text=${run.parent.stepId} />)`;
  if (t.kind === 'pipeline' || t.kind === 'rerun') return html` · <a href=${href(['runs', t.origin])}>${t.kind === 'pipeline' ? 'upstream run' : 'source run'}</a>`;
  if (t.kind === 'schedule') return html` · <a href=${href(['pipelines', run.pipeline, 'schedules', t.origin])}>schedule history</a>`;
  return null;
}

/** Approval steps of this run that wait for a decision: what they ask, and the buttons for operators. */
function Waiting({ run, me, onDone }: { run: RunJson; me: Me; onDone: () => void }) {
  const waiting = useLoad(() => get<{ waiting: ApprovalJson[] }>('approvals'), `approvals:${run.runId}:${run.status}`, 5000);
  const mine = (waiting.data?.waiting ?? []).filter((w) => w.runId === run.runId);
  if (mine.length === 0) return null;
  return html`<div class="waiting" role="region" aria-label="Waiting for approval">${mine.map((w) => html`<p key=${w.stepId}>
    <strong>Step ${w.stepId} waits for approval</strong> since ${utc(w.since)}${w.until ? ` (until ${utc(w.until)})` : ''}: <${Shown} text=${w.message} />
    ${w.approvers ? html` <span class="muted">Approvers: ${w.approvers.join(', ')}</span>` : null}
    ${operates(me, run.project) ? html` <${DecisionButtons} runId=${run.runId} stepId=${w.stepId} onDone=${() => { waiting.reload(); onDone(); }} />` : null}</p>`)}</div>`;
}

function Actions({ run, me, onDone }: { run: RunJson; me: Me; onDone: () => void }) {
  const [error, setError] = useState<unknown>(undefined);
  const [from, setFrom] = useState(run.steps[0]?.id ?? '');
  // One request at a time: the buttons are disabled while it is in flight (a double-click is one
  // action). And each rerun carries an idempotency key made once per intent, so two requests that
  // slip through anyway (two tabs' worth of clicks, a retry) land on one rerun server-side.
  const [busy, setBusy] = useState(false);
  const [intent, setIntent] = useState(newIntent);
  // A project's own operate role counts for its runs.
  if (!operates(me, run.project)) return null;
  const done = TERMINAL.has(run.status);
  const act = (path: string, body: Record<string, unknown>, follow: boolean) => {
    if (busy) return;
    setBusy(true);
    const keyed = path === 'rerun' ? { ...body, idempotencyKey: `console:${String(body['from'])}:${intent}` } : body;
    post<{ runId: string }>(`runs/${encodeURIComponent(run.runId)}/${path}`, keyed).then(
      (answer) => {
        // Following: the page is keyed by run id, so the new run's page is a new one; setting state
        // here would re-render this run's page under the new run's address.
        if (follow) return navigate(href(['runs', answer.runId]));
        setBusy(false);
        setError(undefined);
        onDone();
      },
      (e: unknown) => {
        setBusy(false);
        // A refused attempt is no rerun: the next click is a new intent.
        setIntent(newIntent());
        setError(e);
      },
    );
  };
  const anyFailed = run.steps.some((s) => s.status !== 'succeeded' && s.status !== 'reused');
  return html`<div class="actions" role="group" aria-label="Run actions">
    ${!done ? html`<${ConfirmButton} className="danger" label="Cancel run" question=${`Cancel run ${run.runId}? Its running steps are stopped.`}
      confirm="Yes, cancel the run" keep="Keep it running" onConfirm=${() => act('cancel', {}, false)} />` : null}
    ${done && anyFailed ? html`<button class="primary" disabled=${busy} onClick=${() => act('rerun', { from: 'failed' }, true)}>Rerun from failed</button>` : null}
    ${done ? html`<span class="inline-form"><label>Rerun from step <select value=${from} onChange=${(e: Event) => setFrom((e.target as HTMLSelectElement).value)}>
      ${run.steps.map((s) => html`<option value=${s.id}>${s.id}</option>`)}</select></label>
      <button disabled=${busy} onClick=${() => act('rerun', { from }, true)}>Rerun from ${from}</button></span>` : null}
    <${ProblemBox} error=${error} />
  </div>`;
}

interface Bar {
  readonly kind: 'attempt' | 'wait' | 'pipeline-wait';
  readonly start: number;
  readonly end: number;
  readonly label: string;
  readonly status: string;
}

function barsOf(step: StepJson, now: number): Bar[] {
  const bars: Bar[] = [];
  step.attempts.forEach((a, i) => {
    const start = Date.parse(a.startedAt);
    const end = a.endedAt ? Date.parse(a.endedAt) : now;
    const same = sameErrorAs(step.attempts, i);
    bars.push({ kind: 'attempt', start, end, status: a.status, label: oneLine(`attempt ${a.attempt} ${a.status}${a.error ? `: ${same === undefined ? a.error.message : `same error as attempt ${same}`}` : ''}`) });
    const next = step.attempts[i + 1];
    const waitEnd = next ? Date.parse(next.startedAt) : step.nextAt && a.endedAt ? Date.parse(step.nextAt) : undefined;
    if (a.endedAt && waitEnd !== undefined && waitEnd > end) bars.push({ kind: 'wait', start: end, end: waitEnd, status: 'waiting', label: `retry wait ${duration((waitEnd - end) / 1000)}` });
  });
  return bars;
}

/**
 * While the run waits for its pipeline retry, the steps that will run again wait too: from the
 * round's last failure to the retry's time (the engine's timer), on each of their rows.
 */
function pipelineWaitOf(run: RunJson, step: StepJson, roundEnd: number): Bar | undefined {
  const wait = run.pipelineRetry;
  if (!wait || step.status === 'succeeded' || step.status === 'reused') return undefined;
  const end = Date.parse(wait.at);
  return end > roundEnd ? { kind: 'pipeline-wait', start: roundEnd, end, status: 'waiting', label: `waiting for pipeline attempt ${wait.attempt} at ${utc(wait.at)}` } : undefined;
}

/** Times are the run's own (virtual in the demo): the axis spans the first start to the last end, or the awaited retry. */
function Timeline({ run }: { run: RunJson }) {
  const lastSeen = Math.max(0, ...run.steps.flatMap((s) => s.attempts.map((a) => Date.parse(a.endedAt ?? a.startedAt))), run.endedAt ? Date.parse(run.endedAt) : 0);
  // A forEach step is one row holding its items' attempts (10,000 rows would say nothing).
  const { steps, items } = splitItems(run.steps);
  const rows = steps.map((s) => {
    const wait = pipelineWaitOf(run, s, lastSeen);
    const own = [...barsOf(s, lastSeen), ...(items.get(s.id) ?? []).flatMap((item) => barsOf(item, lastSeen))];
    return { step: s, bars: wait ? [...own, wait] : own };
  });
  const all = rows.flatMap((r) => r.bars);
  if (all.length === 0) return html`<p class="muted">No attempt yet.</p>`;
  const t0 = Math.min(...all.map((b) => b.start));
  const t1 = Math.max(t0 + 1000, ...all.map((b) => b.end));
  const pct = (t: number) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(2)}%`;
  return html`<div class="gantt" role="table" aria-label="Timeline of steps and attempts">
    ${rows.map(({ step, bars }) => html`<div class="gantt-row" role="row" key=${step.id}>
      <div class="gantt-label" role="rowheader">${step.id} <${Status} status=${step.status} />${step.childRun ? html` <a class="child-run" href=${href(['runs', step.childRun.runId])}>child run of <${Shown} text=${step.childRun.pipeline} /></a>` : null}</div>
      <div class="gantt-track" role="cell">
        ${bars.map((b) => html`<span class=${`bar bar-${b.kind} bar-${b.status}`} style=${{ left: pct(b.start), width: `max(3px, calc(${pct(b.end)} - ${pct(b.start)}))` }} title=${b.label}><span class="sr-only">${b.label}</span></span>`)}
      </div></div>`)}
    <div class="gantt-axis muted"><span>${utc(new Date(t0).toISOString())}</span><span>${duration((t1 - t0) / 1000)}</span></div>
    <p class="legend muted"><span class="bar-key bar-succeeded"></span> succeeded <span class="bar-key bar-failed"></span> failed attempt <span class="bar-key bar-running"></span> running (incl. polling) <span class="bar-key bar-wait"></span> retry wait${run.pipelineRetry ? html` <span class="bar-key bar-pipeline-wait"></span> pipeline retry wait` : null}</p>
  </div>`;
}

/**
 * A forEach step's items, on demand: the list is built only while it is open (up to 10,000 items a
 * step; the closed summary costs nothing whatever their number).
 */
function ItemList({ items }: { items: readonly StepJson[] }) {
  const [open, setOpen] = useState(false);
  return html`<details class="items" onToggle=${(e: Event) => setOpen((e.currentTarget as HTMLDetailsElement).open)}><summary>items</summary>${open
    ? html`<ol class="attempts" start="0">${items.map((item) => html`<li key=${item.id}>${item.id} <${Status} status=${item.status} /> · ${item.attempts.length} attempt${item.attempts.length === 1 ? '' : 's'}${(item.error ?? item.attempts.at(-1)?.error) ? html` · <span class="error-text"><${Shown} text=${(item.error ?? item.attempts.at(-1)?.error)?.message ?? ''} /></span>` : null}</li>`)}</ol>`
    : null}</details>`;
}

function StepDetails({ run }: { run: RunJson }) {
  const { steps, items } = splitItems(run.steps);
  return html`<div class="steps">${steps.map((s) => {
    const metrics = run.metrics[s.id];
    const own = items.get(s.id) ?? [];
    return html`<details key=${s.id} open=${s.status === 'failed' && own.length === 0}>
      <summary>${s.id} <${Status} status=${s.status} /> · ${s.items ? itemCountsText(s.items) : `${s.attempts.length} attempt${s.attempts.length === 1 ? '' : 's'}`}${s.pool ? html` · <span class="waiting-pool">waiting for pool <${Shown} text=${s.pool.name} /> (position ${s.pool.position})</span>` : null}</summary>
      ${s.childRun ? html`<p>Child run: <a href=${href(['runs', s.childRun.runId])}><code><${Shown} text=${s.childRun.runId} /></code></a> (<${Shown} text=${s.childRun.pipeline} />)</p>` : null}
      ${own.length > 0 ? html`<${ItemList} items=${own} />` : null}
      ${s.attempts.length ? html`<ol class="attempts">${s.attempts.map((a, i) => {
        // The same error again is referred to, not repeated (src/core/repeatedErrors.ts).
        const same = sameErrorAs(s.attempts, i);
        return html`<li>#${a.attempt} ${a.status} · ${utc(a.startedAt)}${a.endedAt ? ` → ${utc(a.endedAt)}` : ''}${a.error ? html` · <span class="error-text"><${Shown} text=${`${a.error.class}: ${same === undefined ? a.error.message : `same error as #${same}`}`} /></span>` : null}</li>`;
      })}</ol>` : null}
      ${metrics ? html`<dl class="facts">${Object.entries(metrics).map(([k, v]) => html`<dt><${Shown} text=${k} /></dt><dd><${Shown} text=${typeof v === 'string' ? v : JSON.stringify(v)} /></dd>`)}</dl>` : null}
      ${s.output !== undefined ? html`<pre class="output">${keepingLines(JSON.stringify(masked(s.output), null, 2))}</pre>` : null}
    </details>`;
  })}</div>`;
}

function Log({ runId, finished }: { runId: string; finished: boolean }) {
  const [lines, setLines] = useState<LogLineJson[]>([]);
  const [follow, setFollow] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  const cursor = useRef<string | null>(null);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const pull = () => {
      const after = cursor.current ? `&after=${encodeURIComponent(cursor.current)}` : '';
      get<{ lines: LogLineJson[]; nextCursor: string | null; status: string }>(`runs/${encodeURIComponent(runId)}/logs?limit=500${after}`).then((page) => {
        if (!live) return;
        cursor.current = page.nextCursor ?? cursor.current;
        if (page.lines.length) setLines((old) => [...old, ...page.lines]);
        if (follow && !(finished && page.lines.length === 0)) timer = setTimeout(pull, 1500);
      }, (e: unknown) => live && setError(e));
    };
    pull();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [runId, follow, finished]);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);
  // A repeated error is printed once, then referred to (src/core/repeatedErrors.ts).
  const compact = repeatedErrorCompactor();
  // An alert that could not be delivered fails nothing, so nothing else would show it.
  const undelivered = lines.flatMap((l) => (l.fields?.alert ? [l.fields.alert] : []));
  return html`<div>
    ${undelivered.map((a) => html`<div class="problem" role="alert"><strong>Alert not delivered</strong>: <${Shown} text=${`${a.channel} (webhook secret ${a.webhook}): ${a.error}`} /></div>`)}
    <label class="inline"><input type="checkbox" checked=${follow} onChange=${() => setFollow(!follow)} /> Follow</label>
    <${ProblemBox} error=${error} />
    <pre class="log" ref=${box} tabindex="0" aria-label="Run log" aria-live=${follow ? 'polite' : 'off'}>${lines.length === 0 ? 'no log lines yet' : lines.map((l) => html`${utc(l.time)} ${l.level.toUpperCase().padEnd(5)} ${l.stepId ? `[${oneLine(l.stepId)}${l.attempt ? `#${l.attempt}` : ''}] ` : ''}<${Shown} text=${compact(l.msg)} />${'\n'}`)}</pre>
  </div>`;
}
