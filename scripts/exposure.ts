/**
 * What `npm run demo -- --serve` and `npm run dev` say they expose, and to whom, when they start:
 * the address, the host names answered, who may use the API (a key, or any local program without
 * one) and who the console is signed in as (nobody unless `--as` asked for an emulated user).
 */
import type { EmulatedSignIn } from './signIn';

export interface Exposure {
  readonly baseUrl: string;
  /** How to name the function key the API and the Durable webhooks require (never a real key's value); undefined = no key check. */
  readonly key: string | undefined;
  readonly signIn: EmulatedSignIn | undefined;
  /** Names answered besides the loopback ones (`--allow-host`). */
  readonly allowedHosts: readonly string[];
  /** How to ask for an emulated user with this script (`npm run demo -- --serve --as operator`). */
  readonly signInHint: string;
}

export function describeExposure(e: Exposure): string[] {
  const names = ['localhost', '127.0.0.1', '[::1]', ...e.allowedHosts].join(', ');
  const who = e.key
    ? `whoever presents the function key (${e.key}), header x-functions-key or ?code=`
    : 'any program on this machine, no key (set DURABLE_PIPELINES_KEY to require one)';
  const console = e.signIn?.current()
    ? `signed in as ${e.signIn.describe()}, emulated: any browser tab or program on this machine that reaches the port acts as this user, no key needed`
    : `nobody is signed in (emulated sign-in is off: ${e.signInHint} to use the console as that user)`;
  return [
    `Exposed on ${e.baseUrl} (listening on 127.0.0.1 only; requests naming another host than ${names} are refused${e.allowedHosts.length ? '' : ' — add one with --allow-host <name>'}):`,
    `  API ${e.baseUrl}/api/… and Durable webhooks: to ${who}`,
    `  Console ${e.baseUrl}/: ${console}`,
  ];
}

