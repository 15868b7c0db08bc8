import type { PipelineInput } from '../schema';
import dataPipeline from './data-pipeline';
import foldersPipeline from './folders-pipeline';

/** Every pipeline the app serves. Add yours here. */
export const pipelineInputs: readonly PipelineInput[] = [dataPipeline, foldersPipeline];
