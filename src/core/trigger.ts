/**
 * Who or what started a run, in words — one wording for the CLI and the console. `by` is set by
 * the API (`user:<name>` or `key`); schedules and reruns say where they came from.
 * Plain code with no imports: the browser console bundles it too.
 */
export interface TriggerWords {
  readonly kind: string;
  readonly origin?: string;
  readonly scheduledFor?: string;
  readonly by?: string;
}

/**
 * The run and step that started a child run (`kind: 'pipeline'` steps, docs/pipelines.md section
 * 4): its trigger's origin is `<parentRunId>/<stepId>`. Run ids never hold `/`, so a "pipeline
 * succeeded" trigger's origin (a plain run id) never reads as a parent.
 */
export function parentOf(trigger: TriggerWords | undefined): { readonly runId: string; readonly stepId: string } | undefined {
  if (trigger?.kind !== 'pipeline' || trigger.origin === undefined) return undefined;
  const slash = trigger.origin.indexOf('/');
  if (slash <= 0 || slash === trigger.origin.length - 1) return undefined;
  return { runId: trigger.origin.slice(0, slash), stepId: trigger.origin.slice(slash + 1) };
}

export function describeTrigger(trigger: TriggerWords | undefined): string {
  if (!trigger) return '…';
  const parent = parentOf(trigger);
  if (parent) return `step ${parent.stepId} of run ${parent.runId}`;
  if (trigger.kind === 'schedule') return `schedule ${trigger.origin ?? ''}${trigger.scheduledFor ? ` (slot ${trigger.scheduledFor})` : ''}`;
  if (trigger.kind === 'pipeline') return `after run ${trigger.origin ?? '?'} succeeded${trigger.by ? ` (${trigger.by.replace(/^trigger:/, 'trigger ')})` : ''}`;
  if (trigger.kind === 'event') return `blob ${trigger.origin ?? '?'}${trigger.by ? ` (${trigger.by.replace(/^trigger:/, 'trigger ')})` : ''}`;
  if (trigger.kind === 'backfill') return `backfill ${trigger.origin ?? ''}${trigger.scheduledFor ? ` (slot ${trigger.scheduledFor})` : ''}${trigger.by ? ` by ${trigger.by === 'key' ? 'function key' : trigger.by.replace(/^user:/, '')}` : ''}`;
  const who = trigger.by === undefined ? 'API' : trigger.by === 'key' ? 'function key' : trigger.by.replace(/^user:/, '');
  return trigger.kind === 'rerun' ? `rerun of ${trigger.origin ?? '?'} by ${who}` : who;
}
