export { createAzureFunctionAdapter, prepareAzureFunctionCall, type AzureFunctionAdapterDeps, type AzureFunctionStep, type PreparedCall } from './adapter';
export { DEFAULT_MAX_OUTPUT_BYTES } from './response';
