/**
 * Hash routes (`#/runs?status=failed`): every page has a link that survives a reload, and the app
 * serves one index.html for them all without knowing the console's paths.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Location {
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
}

function current(): Location {
  const hash = window.location.hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = hash.split('?');
  return { parts: path.split('/').filter((p) => p !== '').map(decodeURIComponent), query: new URLSearchParams(search) };
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const onChange = () => setLocation(current());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return location;
}

export function href(parts: readonly string[], query?: Record<string, string | undefined>): string {
  const search = new URLSearchParams(Object.entries(query ?? {}).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')).toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${search ? `?${search}` : ''}`;
}

export function navigate(to: string): void {
  window.location.hash = to;
}
