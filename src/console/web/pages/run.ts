/**
 * One run: a Gantt timeline of its steps (each attempt a bar, the retry waits between them
 * hatched, a pipeline retry marked), per-step metrics and (masked) outputs, the live log with
 * follow, and Cancel / Rerun from failed / Rerun from a step for operators.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post, type LogLineJson, type Me, type RunJson, type StepJson } from '../api';
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
  const { data: run, error, reload } = useLoad(() => get<RunJson>(`runs/${encodeURIComponent(runId)}`), runId, fast ? 1500 : 5000);
  const done = run ? TERMINAL.has(run.status) : false;
  useEffect(() => setFast(!done), [done]);
  return html`<section>
    <p><a href=${href(['runs'])}>Runs</a> › <${Shown} text=${run?.pipeline} /></p>
    <h1>Run <code><${Shown} text=${runId} /></code> ${run ? html`<${Status} status=${run.status} />` : null}</h1>
    <${ProblemBox} error=${error} />
    ${run ? html`<${Summary} run=${run} me=${me} />
      <${Actions} run=${run} me=${me} onDone=${() => { setFast(true); reload(); }} />
      <h2>Timeline</h2><${Timeline} run=${run} />
      <h2>Steps</h2><${StepDetails} run=${run} />
      <h2>Log</h2><${Log} runId=${runId} finished=${done} />` : null}
  </section>`;
}

function Summary({ run, me }: { run: RunJson; me: Me }) {
  return html`<dl class="facts">
    <dt>Pipeline</dt><dd><a href=${href(['runs'], { pipeline: run.pipeline })}><${Shown} text=${run.pipeline} /></a></dd>
    <dt>Started by</dt><dd><${Shown} text=${startedBy(run.trigger)} /></dd>
    <dt>Created</dt><dd>${when(run.createdAt)} <span class="muted">${utc(run.createdAt)}</span></dd>
    <dt>Duration</dt><dd>${duration(run.durationSeconds)}</dd>
    ${run.pipelineAttempt && run.pipelineAttempt > 1 ? html`<dt>Pipeline attempt</dt><dd>${run.pipelineAttempt} (pipeline-level retry)</dd>` : null}
    ${run.pipelineRetry ? html`<dt>Next</dt><dd class="waiting-retry">pipeline attempt ${run.pipelineRetry.attempt} at ${utc(run.pipelineRetry.at)}: the steps that did not succeed run again then</dd>` : null}
    ${run.rerunOf ? html`<dt>Rerun of</dt><dd><a href=${href(['runs', run.rerunOf])}>${run.rerunOf}</a></dd>` : null}
    ${run.error ? html`<dt>Error</dt><dd class="error-text"><${Shown} text=${`${run.error.stepId ? `${run.error.stepId}: ` : ''}${run.error.message}`} /></dd>` : null}
    ${run.parameters && Object.keys(run.parameters).length ? html`<dt>Parameters</dt><dd><code><${Shown} text=${JSON.stringify(run.parameters)} /></code></dd>` : null}
    <dt>Telemetry</dt><dd>${me.appInsightsUrl
      ? html`<a href=${me.appInsightsUrl} target="_blank" rel="noopener">Application Insights</a> <span class="muted">(traces where customDimensions.runId == "${run.runId}")</span>`
      : html`<span class="muted">Application Insights not configured (APPLICATIONINSIGHTS_PORTAL_URL)</span>`}</dd>
  </dl>`;
}

function Actions({ run, me, onDone }: { run: RunJson; me: Me; onDone: () => void }) {
  const [error, setError] = useState<unknown>(undefined);
  const [from, setFrom] = useState(run.steps[0]?.id ?? '');
  if (!me.canOperate) return null;
  const done = TERMINAL.has(run.status);
  const act = (path: string, body: unknown, follow: boolean) => {
    post<{ runId: string }>(`runs/${encodeURIComponent(run.runId)}/${path}`, body).then((answer) => {
      setError(undefined);
      if (follow) navigate(href(['runs', answer.runId]));
      else onDone();
    }, setError);
  };
  const anyFailed = run.steps.some((s) => s.status !== 'succeeded' && s.status !== 'reused');
  return html`<div class="actions" role="group" aria-label="Run actions">
    ${!done ? html`<${ConfirmButton} className="danger" label="Cancel run" question=${`Cancel run ${run.runId}? Its running steps are stopped.`}
      confirm="Yes, cancel the run" keep="Keep it running" onConfirm=${() => act('cancel', {}, false)} />` : null}
    ${done && anyFailed ? html`<button class="primary" onClick=${() => act('rerun', { from: 'failed' }, true)}>Rerun from failed</button>` : null}
    ${done ? html`<span class="inline-form"><label>Rerun from step <select value=${from} onChange=${(e: Event) => setFrom((e.target as HTMLSelectElement).value)}>
      ${run.steps.map((s) => html`<option value=${s.id}>${s.id}</option>`)}</select></label>
      <button onClick=${() => act('rerun', { from }, true)}>Rerun from ${from}</button></span>` : null}
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
      <div class="gantt-label" role="rowheader">${step.id} <${Status} status=${step.status} /></div>
      <div class="gantt-track" role="cell">
        ${bars.map((b) => html`<span class=${`bar bar-${b.kind} bar-${b.status}`} style=${{ left: pct(b.start), width: `max(3px, calc(${pct(b.end)} - ${pct(b.start)}))` }} title=${b.label}><span class="sr-only">${b.label}</span></span>`)}
      </div></div>`)}
    <div class="gantt-axis muted"><span>${utc(new Date(t0).toISOString())}</span><span>${duration((t1 - t0) / 1000)}</span></div>
    <p class="legend muted"><span class="bar-key bar-succeeded"></span> succeeded <span class="bar-key bar-failed"></span> failed attempt <span class="bar-key bar-running"></span> running (incl. polling) <span class="bar-key bar-wait"></span> retry wait${run.pipelineRetry ? html` <span class="bar-key bar-pipeline-wait"></span> pipeline retry wait` : null}</p>
  </div>`;
}

function StepDetails({ run }: { run: RunJson }) {
  const { steps, items } = splitItems(run.steps);
  return html`<div class="steps">${steps.map((s) => {
    const metrics = run.metrics[s.id];
    const own = items.get(s.id) ?? [];
    return html`<details key=${s.id} open=${s.status === 'failed' && own.length === 0}>
      <summary>${s.id} <${Status} status=${s.status} /> · ${s.items ? itemCountsText(s.items) : `${s.attempts.length} attempt${s.attempts.length === 1 ? '' : 's'}`}</summary>
      ${own.length > 0 ? html`<details class="items"><summary>items</summary><ol class="attempts" start="0">${own.map((item) => html`<li key=${item.id}>${item.id} <${Status} status=${item.status} /> · ${item.attempts.length} attempt${item.attempts.length === 1 ? '' : 's'}${(item.error ?? item.attempts.at(-1)?.error) ? html` · <span class="error-text"><${Shown} text=${(item.error ?? item.attempts.at(-1)?.error)?.message ?? ''} /></span>` : null}</li>`)}</ol></details>` : null}
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
