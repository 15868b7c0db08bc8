export { createSnowflakeAdapter, ACCESS_URL_SETTING, CLIENT_ID_SETTING, type SnowflakeAdapterDeps } from './adapter';
export { buildCopyInto, renderIdentifier, sqlString, UnsafeSqlInputError } from './copyInto';
export { summarizeCopyInto, copyMetrics, type CopyIntoSummary, type CopyFileResult } from './copyResult';
export { classifySnowflakeError } from './errors';
export { ConnectionCache, sharedConnections, loadSnowflakeSdk } from './connection';
