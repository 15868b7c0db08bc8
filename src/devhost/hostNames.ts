/**
 * Which `Host` the dev host answers. It listens on 127.0.0.1 only, but a listening socket is not
 * the whole story: a web page can make a browser send requests to it under a name the page's own
 * DNS points at 127.0.0.1 (DNS rebinding), and the browser then treats the answers as that page's
 * own. Such a request names the attacker's host in `Host`; answering only loopback names (and the
 * names the user lists with `--allow-host`) leaves a rebinding page nothing to read or change —
 * the rule webpack-dev-server (`allowedHosts`) and Vite (`server.allowedHosts`) apply by default.
 *
 * Azure has no equivalent to emulate: the front end routes by host name to the app's hostnames
 * (`*.azurewebsites.net` and the custom domains bound to it), so a request naming another host
 * never reaches it.
 */
import type { IncomingMessage } from 'node:http';

/** `localhost`, `*.localhost` (RFC 6761 §6.3: always loopback), 127.0.0.0/8 and `[::1]`. */
export function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '[::1]') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255);
}

/**
 * The authority a request was sent to: the target's when the request line is in absolute form
 * (`GET http://name/path`, where RFC 9112 §3.2.2 says `Host` is ignored), else the `Host` header.
 */
export function requestAuthority(req: Pick<IncomingMessage, 'url' | 'headers'>): string | undefined {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) {
    try {
      return new URL(target).host;
    } catch {
      return undefined;
    }
  }
  return req.headers.host;
}

/** Whether the dev host answers a request sent to `authority` (`name[:port]`), given the names the user allowed. */
export function hostAllowed(authority: string | undefined, allowed: readonly string[]): boolean {
  if (authority === undefined || authority === '') return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${authority}`).hostname;
  } catch {
    return false;
  }
  if (isLoopbackName(hostname)) return true;
  return allowed.some((name) => name.toLowerCase() === hostname.toLowerCase());
}
