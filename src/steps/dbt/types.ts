import type { StepDefinition } from '../../pipelines/schema';

export type DbtStep = Extract<StepDefinition, { kind: 'dbt' }>;
export type DbtRunnerConfig = DbtStep['runner'];
export type DbtCloudRunner = Extract<DbtRunnerConfig, { type: 'cloud' }>;
export type ContainerAppsJobRunner = Extract<DbtRunnerConfig, { type: 'containerAppsJob' }>;
