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

export function describeTrigger(trigger: TriggerWords | undefined): string {
  if (!trigger) return '…';
  if (trigger.kind === 'schedule') return `schedule ${trigger.origin ?? ''}${trigger.scheduledFor ? ` (slot ${trigger.scheduledFor})` : ''}`;
  if (trigger.kind === 'pipeline') return `after run ${trigger.origin ?? '?'} succeeded${trigger.by ? ` (${trigger.by.replace(/^trigger:/, 'trigger ')})` : ''}`;
  if (trigger.kind === 'event') return `blob ${trigger.origin ?? '?'}${trigger.by ? ` (${trigger.by.replace(/^trigger:/, 'trigger ')})` : ''}`;
  if (trigger.kind === 'backfill') return `backfill ${trigger.origin ?? ''}${trigger.scheduledFor ? ` (slot ${trigger.scheduledFor})` : ''}${trigger.by ? ` by ${trigger.by === 'key' ? 'function key' : trigger.by.replace(/^user:/, '')}` : ''}`;
  const who = trigger.by === undefined ? 'API' : trigger.by === 'key' ? 'function key' : trigger.by.replace(/^user:/, '');
  return trigger.kind === 'rerun' ? `rerun of ${trigger.origin ?? '?'} by ${who}` : who;
}
