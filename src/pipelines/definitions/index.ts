import { loadCatalog, type Catalog } from '../catalog';
import type { PipelineInput } from '../schema';
import dataPipeline from './data-pipeline';
import foldersPipeline from './folders-pipeline';
import dailyReport from './daily-report';
import { projectSetup } from './projects';

/** Every pipeline the app serves. Add yours here. */
export const pipelineInputs: readonly PipelineInput[] = [dataPipeline, foldersPipeline, dailyReport];

export { projectSetup };

/** The app's catalog: these pipelines with the app's projects and pools (throws listing every problem). */
export function loadDefinitions(): Catalog {
  return loadCatalog(pipelineInputs, projectSetup);
}
