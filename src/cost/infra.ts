/**
 * The deployment parameters that drive the bill, read from the files the deployment itself reads:
 * infra/main.parameters.json (azd's `${VAR=default}` values), the Bicep parameter defaults,
 * infra/app/alerts.bicep (alert kind and `evaluationFrequency`), infra/app/dbtJob.bicep (job
 * size) and host.json (`partitionCount`, `maxQueuePollingInterval`, log levels). Reading them, rather than copying the numbers,
 * keeps the estimate in step when someone changes the infra.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface InfraParameters {
  readonly durableAlwaysReady: number;
  readonly instanceMemoryMB: number;
  readonly enableDbtJob: boolean;
  readonly dbtUsePrivateRegistry: boolean;
  readonly durableBackend: string;
  /**
   * The failed-or-late alert: a log alert evaluated every N minutes (split by a dimension, one
   * time series per value: per pipeline), or a metric alert.
   */
  readonly alert: { readonly kind: 'log'; readonly evaluationMinutes: number; readonly splitBy: string | undefined } | { readonly kind: 'metric'; readonly timeSeries: number };
  /** host.json durableTask.storageProvider.maxQueuePollingInterval, seconds. */
  readonly maxQueuePollingSeconds: number;
  /** host.json durableTask.storageProvider.partitionCount: control queues. */
  readonly partitionCount: number;
  /** host.json durableTask.storageProvider.useTablePartitionManagement: partition leases in a table instead of blobs. */
  readonly tablePartitionManagement: boolean;
  /** host.json logging.logLevel (category → level). */
  readonly logLevels: Readonly<Record<string, string>>;
  readonly dbtJobVcpu: number;
  readonly dbtJobMemoryGiB: number;
}

export const PARAMETER_NAMES = ['durableAlwaysReady', 'instanceMemoryMB', 'enableDbtJob', 'dbtUsePrivateRegistry', 'durableBackend'] as const;
type ParameterName = (typeof PARAMETER_NAMES)[number];
/** host.json settings `--set` may override too (as an `AzureFunctionsJobHost__…` app setting would). */
export const HOST_SETTING_NAMES = ['partitionCount', 'maxQueuePollingSeconds'] as const;

export class InfraReadError extends Error {
  override readonly name = 'InfraReadError';
}

/** `${VAR=default}` → default; a literal stays as is. */
function azdDefault(value: unknown): string | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return undefined;
  const m = /^\$\{[A-Z0-9_]+(?:=(.*))?\}$/u.exec(value);
  return m ? m[1] : value;
}

function bicepDefault(bicep: string, name: string): string | undefined {
  const m = new RegExp(`^param ${name} \\w+ = '?([^'\\n]*)'?\\s*$`, 'mu').exec(bicep);
  return m?.[1];
}

/** ISO 8601 duration (PT5M, PT1H, PT15M) in minutes. */
export function isoMinutes(duration: string): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?$/u.exec(duration);
  if (!m || (m[1] === undefined && m[2] === undefined)) throw new InfraReadError(`evaluationFrequency: not an ISO 8601 duration in hours/minutes: ${duration}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

/** "hh:mm:ss" → seconds. */
function timeSpanSeconds(span: string): number {
  const m = /^(\d+):(\d{2}):(\d{2})$/u.exec(span);
  if (!m) throw new InfraReadError(`maxQueuePollingInterval: expected hh:mm:ss, got ${span}`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

async function read(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new InfraReadError(`${file}: ${(error as Error).message} (run the command from the project folder, or pass --infra)`);
  }
}

function toBool(name: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InfraReadError(`${name}: expected true or false, got "${value}"`);
}

/** Digits only, at most nine: `1e308`, `Infinity` or `0x10` would price a bill of €Infinity or a surprise. */
function toInt(name: string, value: string): number {
  if (!/^\d{1,9}$/u.test(value)) throw new InfraReadError(`${name}: expected a whole number from 0 to 999999999, got "${value}"`);
  return Number(value);
}

/**
 * Reads the parameters; `overrides` (the command's `--set name=value`) win, as an azd environment
 * value would.
 */
export async function readInfraParameters(projectDir: string, overrides: Readonly<Record<string, string>> = {}): Promise<InfraParameters> {
  const known: readonly string[] = [...PARAMETER_NAMES, ...HOST_SETTING_NAMES];
  for (const name of Object.keys(overrides)) {
    if (!known.includes(name)) throw new InfraReadError(`--set ${name}: not a cost parameter (known: ${known.join(', ')})`);
  }
  const infra = path.join(projectDir, 'infra');
  const [paramsText, mainBicep, alertsBicep, dbtBicep, hostJsonText] = await Promise.all([
    read(path.join(infra, 'main.parameters.json')),
    read(path.join(infra, 'main.bicep')),
    read(path.join(infra, 'app', 'alerts.bicep')),
    read(path.join(infra, 'app', 'dbtJob.bicep')),
    read(path.join(projectDir, 'host.json')),
  ]);
  const params = (JSON.parse(paramsText) as { parameters?: Record<string, { value?: unknown }> }).parameters ?? {};
  const value = (name: ParameterName): string => {
    const v = overrides[name] ?? azdDefault(params[name]?.value) ?? bicepDefault(mainBicep, name);
    if (v === undefined || v === '') {
      const fallback = bicepDefault(mainBicep, name);
      if (fallback === undefined) throw new InfraReadError(`infra/main.bicep: no default for ${name}`);
      return fallback;
    }
    return v;
  };

  const metric = /'Microsoft\.Insights\/metricAlerts@/u.test(alertsBicep);
  const frequency = /evaluationFrequency:\s*'([^']+)'/u.exec(alertsBicep)?.[1];
  if (!metric && frequency === undefined) throw new InfraReadError('infra/app/alerts.bicep: no evaluationFrequency found');
  const hostJson = JSON.parse(hostJsonText) as {
    extensions?: { durableTask?: { storageProvider?: { maxQueuePollingInterval?: string; partitionCount?: number; useTablePartitionManagement?: boolean } } };
    logging?: { logLevel?: Record<string, string> };
  };
  const provider = hostJson.extensions?.durableTask?.storageProvider;
  const polling = provider?.maxQueuePollingInterval;
  const split = /dimensions:\s*\[\s*\{\s*name:\s*'([^']+)'/u.exec(alertsBicep)?.[1];
  const job = /resources:\s*\{\s*cpu:\s*json\('([\d.]+)'\),\s*memory:\s*'([\d.]+)Gi'\s*\}/u.exec(dbtBicep);
  if (!job) throw new InfraReadError('infra/app/dbtJob.bicep: no container resources (cpu, memory) found');

  return {
    durableAlwaysReady: toInt('durableAlwaysReady', value('durableAlwaysReady')),
    instanceMemoryMB: toInt('instanceMemoryMB', value('instanceMemoryMB')),
    enableDbtJob: toBool('enableDbtJob', value('enableDbtJob')),
    dbtUsePrivateRegistry: toBool('dbtUsePrivateRegistry', value('dbtUsePrivateRegistry')),
    durableBackend: value('durableBackend'),
    // One time series: the rule watches one component's custom events.
    alert: metric ? { kind: 'metric', timeSeries: 1 } : { kind: 'log', evaluationMinutes: isoMinutes(frequency ?? ''), splitBy: split },
    // Durable Functions' defaults when host.json does not set them: 30 s and 4 partitions
    // (DurableTask.AzureStorage AzureStorageOrchestrationServiceSettings).
    maxQueuePollingSeconds: overrides['maxQueuePollingSeconds'] !== undefined ? toInt('maxQueuePollingSeconds', overrides['maxQueuePollingSeconds']) : polling === undefined ? 30 : timeSpanSeconds(polling),
    partitionCount: overrides['partitionCount'] !== undefined ? toInt('partitionCount', overrides['partitionCount']) : (provider?.partitionCount ?? 4),
    // The extension bundle's Durable 2.x defaults to blob leases (AzureStorageOptions.UseTablePartitionManagement = false).
    tablePartitionManagement: provider?.useTablePartitionManagement === true,
    logLevels: hostJson.logging?.logLevel ?? {},
    dbtJobVcpu: Number(job[1]),
    dbtJobMemoryGiB: Number(job[2]),
  };
}
