/**
 * The two Entra app roles the app enforces, and who counts as having them. Operate includes Read:
 * a user who may run pipelines may see them. Function keys are shared automation secrets: they act
 * as Operate (the CLI and schedulers in other systems use them), and say so in the run records.
 */
export const ROLES = {
  read: 'Pipelines.Read',
  operate: 'Pipelines.Operate',
  /**
   * Held by Event Grid's service principal only (assigned by infra/app/events.bicep): it may deliver
   * blob-created events, nothing else. Event Grid's Entra-secured webhook delivery sends a token for
   * the app's registration carrying this role ("Deliver events to Microsoft Entra protected
   * endpoints", learn.microsoft.com/azure/event-grid/secure-webhook-delivery).
   */
  events: 'Pipelines.Events',
} as const;

/** `events`: Event Grid's deliveries (the key door, or a principal with the Pipelines.Events role). */
export type Access = 'public' | 'signedIn' | 'read' | 'operate' | 'events';

/** Who made a request, as recorded on the runs they start or cancel. */
export interface Caller {
  readonly kind: 'key' | 'user';
  /** The user's name from the principal, or "function key". */
  readonly name: string;
  readonly canRead: boolean;
  readonly canOperate: boolean;
}

export const KEY_CALLER: Caller = { kind: 'key', name: 'function key', canRead: true, canOperate: true };

export function userCaller(name: string, roles: readonly string[]): Caller {
  const canOperate = roles.includes(ROLES.operate);
  return { kind: 'user', name, canOperate, canRead: canOperate || roles.includes(ROLES.read) };
}

/** How a run record names the caller: `user:alice@contoso.com` or `key`. */
export function callerLabel(caller: Caller): string {
  return caller.kind === 'key' ? 'key' : `user:${caller.name}`;
}

/** The local stand-ins for signed-in users (`--as reader|operator`). */
export const LOCAL_USERS = {
  reader: { name: 'reader@localhost', roles: [ROLES.read] },
  operator: { name: 'operator@localhost', roles: [ROLES.read, ROLES.operate] },
} as const;

export type LocalUser = keyof typeof LOCAL_USERS;
