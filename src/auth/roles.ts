/**
 * The two Entra app roles the app enforces, and who counts as having them. Operate includes Read:
 * a user who may run pipelines may see them. Function keys are shared automation secrets: they act
 * as Operate on every project (the CLI and schedulers in other systems use them), and say so in the
 * run records. Besides the global roles, a project's own roles (or groups) grant read or operate on
 * that project only (src/projects/access.ts).
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
  /** Read every project (Pipelines.Read or Pipelines.Operate). */
  readonly canRead: boolean;
  /** Operate every project (Pipelines.Operate; a function key). */
  readonly canOperate: boolean;
  /** Projects granted by their own roles or groups, beyond the global roles; absent when none. */
  readonly projects?: Readonly<Record<string, ProjectGrant>>;
}

/** What a project's roles grant: `operate` includes `read`. */
export type ProjectGrant = 'read' | 'operate';

export const KEY_CALLER: Caller = { kind: 'key', name: 'function key', canRead: true, canOperate: true };

export function userCaller(name: string, roles: readonly string[], projects: Readonly<Record<string, ProjectGrant>> = {}): Caller {
  const canOperate = roles.includes(ROLES.operate);
  return { kind: 'user', name, canOperate, canRead: canOperate || roles.includes(ROLES.read), ...(Object.keys(projects).length > 0 ? { projects } : {}) };
}

/** May the caller see the project's pipelines and runs? */
export function mayRead(caller: Caller | undefined, project: string): boolean {
  return caller !== undefined && (caller.canRead || (caller.projects !== undefined && Object.hasOwn(caller.projects, project)));
}

/** May the caller start, cancel, rerun the project's runs and pause its schedules? */
export function mayOperate(caller: Caller | undefined, project: string): boolean {
  return caller !== undefined && (caller.canOperate || (caller.projects !== undefined && Object.hasOwn(caller.projects, project) && caller.projects[project] === 'operate'));
}

/** The projects the caller may read among `all`, or undefined when it reads every project. */
export function readableProjects(caller: Caller | undefined, all: readonly string[]): string[] | undefined {
  if (caller?.canRead) return undefined;
  return all.filter((project) => mayRead(caller, project));
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

/**
 * A local user by `--as` word: `reader`, `operator`, or a project's own (`reader:finance`,
 * `operator:finance`: that project's default role `Pipelines.Read.finance` / `Pipelines.Operate.finance`
 * and nothing else). Undefined for any other word.
 */
export function localUser(word: string): { name: string; roles: readonly string[] } | undefined {
  if (word === 'reader' || word === 'operator') return LOCAL_USERS[word];
  const scoped = /^(reader|operator):([a-z0-9]+(?:-[a-z0-9]+)*)$/.exec(word);
  if (!scoped?.[1] || !scoped[2]) return undefined;
  const [, kind, project] = scoped;
  return { name: `${kind}-${project}@localhost`, roles: [`${kind === 'reader' ? ROLES.read : ROLES.operate}.${project}`] };
}
