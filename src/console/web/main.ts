/**
 * The console's shell: who is signed in (GET /api/console/me), the navigation, and the page for
 * the current hash route. Change buttons appear only for a caller who may use them; the API
 * refuses them anyway (403) — hiding is for clarity, not security.
 */
import { render } from 'preact';
import { get, ApiError, type Me } from './api';
import { ProblemBox, Shown, useLoad } from './components';
import { html } from './html';
import { href, useLocation } from './router';
import { PipelinesPage } from './pages/pipelines';
import { RunsPage } from './pages/runs';
import { RunPage } from './pages/run';
import { SlotsPage } from './pages/slots';
import { BackfillPage, BackfillsPage } from './pages/backfills';
import { WaitingPage } from './pages/waiting';

function App() {
  const location = useLocation();
  const me = useLoad(() => get<Me>('me'), 'me');
  const [first = 'pipelines', second, third, fourth] = location.parts;
  const signedOut = me.error instanceof ApiError && me.error.problem.status === 401;
  let page = null;
  // A project's own role admits too: the API answers for that project only (docs/projects.md).
  const granted = Object.entries(me.data?.projects ?? {});
  const admitted = me.data !== undefined && (me.data.canRead || granted.length > 0);
  if (me.data && admitted) {
    // Keyed by run: another run's page starts empty (its log, its read position, its timeline),
    // whichever way it was reached — a link, a rerun, back/forward.
    if (first === 'runs' && second) page = html`<${RunPage} key=${second} runId=${second} me=${me.data} />`;
    else if (first === 'runs') page = html`<${RunsPage} location=${location} />`;
    else if (first === 'backfills' && second) page = html`<${BackfillPage} key=${second} id=${second} me=${me.data} />`;
    else if (first === 'backfills') page = html`<${BackfillsPage} />`;
    else if (first === 'waiting') page = html`<${WaitingPage} me=${me.data} />`;
    else if (first === 'pipelines' && second && third === 'schedules' && fourth) page = html`<${SlotsPage} pipeline=${second} schedule=${fourth} />`;
    else page = html`<${PipelinesPage} me=${me.data} location=${location} />`;
  }
  const current = (name: string) => (first === name ? 'page' : undefined);
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href=${href(['pipelines'])}>durable-pipelines</a>
      <nav aria-label="Main"><a href=${href(['pipelines'])} aria-current=${current('pipelines')}>Pipelines</a> <a href=${href(['runs'])} aria-current=${current('runs')}>Runs</a> <a href=${href(['backfills'])} aria-current=${current('backfills')}>Backfills</a> <a href=${href(['waiting'])} aria-current=${current('waiting')}>Waiting</a></nav>
      <div class="who">${me.data ? html`<${Shown} text=${me.data.name} /> · ${me.data.canOperate ? 'operator' : me.data.readOnly ? 'read-only mode' : me.data.canRead || granted.length === 0 ? 'reader' : granted.map(([project, grant]) => `${grant === 'operate' ? 'operator' : 'reader'} of ${project}`).join(', ')} · <a href="/.auth/logout">Sign out</a>` : null}</div>
    </header>
    <main id="main" tabindex="-1">
      ${signedOut ? html`<div class="problem" role="alert"><strong>Not signed in.</strong> <a href="/.auth/login/aad?post_login_redirect_uri=/">Sign in with Microsoft Entra ID</a>. <${Shown} text=${me.error instanceof ApiError ? me.error.problem.detail : ''} /></div>` : html`<${ProblemBox} error=${me.error} />`}
      ${me.data && !admitted ? html`<div class="problem" role="alert"><strong>No access.</strong> <${Shown} text=${me.data.name} /> has neither Pipelines.Read nor Pipelines.Operate, nor a project's own role: ask an owner of the app registration to assign one.</div>` : null}
      ${page}
    </main>
  </div>`;
}

const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
