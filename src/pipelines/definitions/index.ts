import { loadCatalog, type Catalog } from '../catalog';
import type { PipelineInput } from '../schema';
import dataPipeline from './data-pipeline';
import foldersPipeline from './folders-pipeline';
import { projectSetup } from './projects';

/** Every pipeline the app serves. Add yours here. */
export const pipelineInputs: readonly PipelineInput[] = [dataPipeline, foldersPipeline];

export { projectSetup };

/** The app's catalog: these pipelines with the app's projects and pools (throws listing every problem). */
export function loadDefinitions(): Catalog {
  return loadCatalog(pipelineInputs, projectSetup);
}
