export { createDbtAdapter, type DbtAdapterDeps } from './adapter';
export { ARM_URL_SETTING, CONTAINER_APPS_API_VERSION, JOB_ENV } from './containerAppsJob';
export { DBT_CLOUD_STATUS } from './cloud';
export { summarizeRunResults, type DbtMetrics, type DbtRunSummary } from './runResults';
export type { DbtStep, DbtCloudRunner, ContainerAppsJobRunner } from './types';
