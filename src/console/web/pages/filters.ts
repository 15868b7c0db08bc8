/**
 * The project and tag filters the pipelines and runs pages share: one project (of those the user may
 * see: the API lists no other) and one tag, kept in the page's URL so a filtered view can be shared.
 */
import type { ProjectJson } from '../api';
import { html } from '../html';
import { href, navigate } from '../router';

export interface ProjectTagFilter {
  readonly project: string;
  readonly tag: string;
}

/** `project=…&tag=…` for the API, leaving out what is empty. */
export function projectTagQuery(filters: ProjectTagFilter): string {
  return new URLSearchParams(Object.entries(filters).filter((e): e is [string, string] => e[1] !== '')).toString();
}

export function ProjectTagFilters({ page, filters, projects, rest = {} }: { page: string; filters: ProjectTagFilter; projects: readonly ProjectJson[]; rest?: Record<string, string> }) {
  const set = (name: keyof ProjectTagFilter) => (e: Event) => navigate(href([page], { ...rest, ...filters, [name]: (e.target as HTMLInputElement).value.trim() }));
  return html`<form class="filters" onSubmit=${(e: Event) => e.preventDefault()} aria-label="Filter by project and tag">
    <label>Project <select value=${filters.project} onChange=${set('project')}>
      <option value="">all</option>${projects.map((p) => html`<option value=${p.name}>${p.title}</option>`)}</select></label>
    <label>Tag <input type="search" value=${filters.tag} placeholder="production" onChange=${set('tag')} /></label>
  </form>`;
}
