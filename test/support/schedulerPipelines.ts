/** Test-only pipelines for the scheduler tests: the seed pipeline's steps under other names and schedules. */
import type { PipelineInput } from '../../src/pipelines/schema';

export type ScheduleInput = NonNullable<PipelineInput['schedules']>[number];

/** `base` renamed, with only these schedules and (unless given) no alerts. */
export function withSchedules(base: PipelineInput, name: string, schedules: readonly ScheduleInput[], alerts: PipelineInput['alerts'] = []): PipelineInput {
  return { ...base, name, title: name, schedules: [...schedules], alerts };
}
