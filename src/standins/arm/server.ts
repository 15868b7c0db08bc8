/**
 * Azure Resource Manager (Container Apps jobs, api-version 2024-03-01) and Blob Storage on one
 * local server, speaking the real REST shapes:
 *   GET  {job}?api-version=…                          the job resource (template.containers)
 *   POST {job}/start?api-version=…                    body = JobExecutionTemplate; 200 `{ name, id }`
 *                                                      or (startMode 'async') 202 + Location
 *   GET  {Location}                                   202 once, then 200 `{ name, id }` — or, with
 *                                                     `operationFinal: 'no-content'`, 204 and no body:
 *                                                     the spec declares the start's final state "via
 *                                                     location" (Jobs.json, Jobs_Start) and ARM's
 *                                                     async guidelines let a finished operation
 *                                                     answer 204, so a start may end naming nothing
 *   GET  {job}/executions?api-version=…               the executions, newest first, with their templates,
 *                                                     one page at a time: ARM list operations answer
 *                                                     `{ value, nextLink }`, nextLink an absolute URL
 *                                                     to GET for the next page, absent on the last
 *                                                     (learn.microsoft.com, Azure REST API guidelines
 *                                                     "Pagination"; Container Apps "Jobs Executions -
 *                                                     List" returns ContainerAppJobExecutions with
 *                                                     `value` and `nextLink`)
 *   GET  {job}/executions/{name}?api-version=…        properties.status Running → Succeeded/Failed
 *                                                     (or through Degraded, see ArmOutcome)
 *   POST {job}/executions/{name}/stop?api-version=…   status becomes Stopped
 *   GET  /{container}/{blob path}                     Blob GET (Bearer + x-ms-version), 404 BlobNotFound
 *   PUT  /{container}/{blob path}                     Put Blob (x-ms-blob-type: BlockBlob), as the job uploads
 * ARM wants `Authorization: Bearer <armToken>`, Blob `Bearer <storageToken>`: a token asked for the
 * wrong scope is refused. The stand-in plays the container's part: when an execution begins it
 * writes `{ execution: <its name> }` to the blob its DP_STARTED_URL env names (what entrypoint.py
 * does with CONTAINER_APP_JOB_EXECUTION_NAME), and when it finishes, the scripted run_results.json
 * to the blob DP_RESULTS_URL names.
 *
 * What the spec leaves open is offered both ways. Whether an execution's `template` echoes the env
 * values it was started with: the spec's examples (Job_Executions_Get.json) show containers with
 * image, name, resources, command and args, never env; `executionTemplate` picks 'without-env'
 * (default) or 'as-sent'. What Degraded means (the status enum lists it, nothing says whether it
 * is an end): an outcome of status 'Degraded' stays Degraded, `degradedPolls` passes through
 * Degraded on the way to another status.
 */
import { createHash } from 'node:crypto';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { FailureScript, serve, type StandInReply, type StandInRequest } from '../dbtCloud/httpServer';

export const ARM_API_VERSION = '2024-03-01';
export const RESULTS_CONTAINER = 'dbtresults';

export interface ArmOutcome {
  readonly status: 'Succeeded' | 'Failed' | 'Degraded';
  /** What the "container" uploads to DP_RESULTS_URL when it ends; absent = nothing uploaded. */
  readonly runResults?: unknown;
  /** Status checks that see Degraded before `status` (nothing uploaded meanwhile). */
  readonly degradedPolls?: number;
  /** Status checks that see Running beyond the stand-in's `pollsBeforeDone`: a job that hangs. */
  readonly extraRunningPolls?: number;
}

export interface ArmStandInOptions {
  readonly armToken: string;
  readonly storageToken: string;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly jobName?: string;
  /** The job's own template containers (what an override must preserve). */
  readonly containers?: readonly Record<string, unknown>[];
  readonly pollsBeforeDone?: number;
  readonly startMode?: 'sync' | 'async';
  readonly outcome?: ArmOutcome;
  /** A SAS signature accepted on blob URLs (`?…&sig=<sas>`) instead of a bearer token. */
  readonly sas?: string;
  /** Executions per page of the list (default 20); the rest through `nextLink`. */
  readonly executionsPageSize?: number;
  /** What an execution's `template` shows of its env (see the header comment); default 'without-env'. */
  readonly executionTemplate?: 'as-sent' | 'without-env';
  /** How the start operation's Location answers once done: `{ name, id }` (default) or 204, no body. */
  readonly operationFinal?: 'body' | 'no-content';
  /** Execution GETs before the "container" writes DP_STARTED_URL (an image still pulling); default 0. */
  readonly containerStartPolls?: number;
}

export interface ArmStart {
  readonly execution: string;
  readonly body: { containers?: { name?: string; image?: string; args?: string[]; command?: string[]; env?: { name: string; value?: string; secretRef?: string }[]; resources?: unknown }[] };
}

export interface ArmStandIn {
  readonly url: string;
  readonly jobResourceId: string;
  /** Container URL the results go to: `${url}/dbtresults`. */
  readonly resultsContainerUrl: string;
  readonly starts: readonly ArmStart[];
  readonly stops: readonly string[];
  readonly requests: readonly { method: string; path: string; authorization: string | undefined; status: number }[];
  /** Blobs by path (`/dbtresults/run/step/1/run_results.json`). */
  readonly blobs: Map<string, string>;
  failNext(route: 'job' | 'executions' | 'start' | 'operation' | 'execution' | 'stop' | 'blob' | 'any', status: number, options?: { retryAfter?: number; times?: number }): void;
  setOutcome(outcome: ArmOutcome): void;
  close(): Promise<void>;
}

interface Execution {
  readonly name: string;
  polls: number;
  status: string;
  readonly resultsPath: string | undefined;
  readonly startedPath: string | undefined;
  readonly outcome: ArmOutcome;
  readonly template: ArmStart['body'];
}

const DEFAULT_CONTAINERS = [
  {
    name: 'dbt',
    image: 'dpacr.azurecr.io/dbt-job:1.9.4',
    resources: { cpu: 1, memory: '2Gi' },
    env: [
      { name: 'AZURE_CLIENT_ID', value: '00000000-0000-0000-0000-0000000000c1' },
      { name: 'SNOWFLAKE_PRIVATE_KEY', secretRef: 'snowflake-private-key' },
    ],
  },
];

export async function startArmStandIn(options: ArmStandInOptions): Promise<ArmStandIn> {
  const sub = options.subscriptionId ?? '34adfa4f-cedf-4dc0-ba29-b6d1a69ab345';
  const rg = options.resourceGroup ?? 'rg-pipelines';
  const jobName = options.jobName ?? 'dbt-job';
  const jobResourceId = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.App/jobs/${jobName}`;
  const containers = options.containers ?? DEFAULT_CONTAINERS;
  const pollsBeforeDone = options.pollsBeforeDone ?? 2;
  const pageSize = Math.max(1, options.executionsPageSize ?? 20);
  let outcome: ArmOutcome = options.outcome ?? { status: 'Succeeded', runResults: { results: [] } };
  const failures = new FailureScript();
  const executions = new Map<string, Execution>();
  const operations = new Map<string, { execution: string; polls: number }>();
  const starts: ArmStart[] = [];
  const stops: string[] = [];
  const blobs = new Map<string, string>();
  const requests: { method: string; path: string; authorization: string | undefined; status: number }[] = [];
  let counter = 0;
  let base = '';

  const armError = (status: number, code: string, message: string): StandInReply => ({ status, json: { error: { code, message } } });

  function route(req: StandInRequest): string {
    if (req.path.startsWith(`/${RESULTS_CONTAINER}/`)) return 'blob';
    if (req.path.includes('/operationResults/')) return 'operation';
    if (req.path === jobResourceId) return 'job';
    if (req.path === `${jobResourceId}/start`) return 'start';
    if (req.path === `${jobResourceId}/executions`) return 'executions';
    if (/\/executions\/[^/]+\/stop$/.test(req.path)) return 'stop';
    if (/\/executions\/[^/]+$/.test(req.path)) return 'execution';
    return 'unknown';
  }

  function blob(req: StandInRequest): StandInReply {
    const bySas = options.sas !== undefined && req.query.get('sig') === options.sas;
    if (!bySas && req.headers['authorization'] !== `Bearer ${options.storageToken}`) {
      return { status: 401, text: 'Server failed to authenticate the request.', headers: { 'x-ms-error-code': 'InvalidAuthenticationInfo' } };
    }
    if (!bySas && req.headers['x-ms-version'] === undefined) return { status: 400, text: 'Bearer requests need x-ms-version', headers: { 'x-ms-error-code': 'MissingRequiredHeader' } };
    if (req.method === 'PUT') {
      if (req.headers['x-ms-blob-type'] !== 'BlockBlob') return { status: 400, text: 'x-ms-blob-type is required', headers: { 'x-ms-error-code': 'MissingRequiredHeader' } };
      blobs.set(decodeURIComponent(req.path), req.body);
      return { status: 201, text: '', headers: { etag: `"0x${blobs.size.toString(16)}"` } };
    }
    const content = blobs.get(decodeURIComponent(req.path));
    if (content === undefined) return { status: 404, text: req.method === 'HEAD' ? '' : 'The specified blob does not exist.', headers: { 'x-ms-error-code': 'BlobNotFound' } };
    // Get Blob / Get Blob Properties (HEAD: the same headers, no body): ETag names this version.
    const etag = `"0x${createHash('sha256').update(content).digest('hex').slice(0, 15).toUpperCase()}"`;
    return { status: 200, text: req.method === 'HEAD' ? '' : content, headers: { 'content-type': 'application/json', etag, 'x-ms-blob-type': 'BlockBlob', 'content-length': String(Buffer.byteLength(content)) } };
  }

  const containerStartPolls = options.containerStartPolls ?? 0;

  /** The container's first act: say which execution it is, where it was told to. */
  function announce(execution: Execution): void {
    if (execution.startedPath !== undefined && execution.polls >= containerStartPolls) blobs.set(execution.startedPath, JSON.stringify({ execution: execution.name }));
  }

  function advance(execution: Execution): void {
    if (execution.status !== 'Running' && execution.status !== 'Degraded') return;
    execution.polls++;
    announce(execution);
    if (execution.polls <= pollsBeforeDone + (execution.outcome.extraRunningPolls ?? 0)) return;
    const degraded = execution.outcome.degradedPolls ?? 0;
    if (execution.polls <= pollsBeforeDone + degraded) {
      execution.status = 'Degraded';
      return;
    }
    if (execution.status === execution.outcome.status) return;
    execution.status = execution.outcome.status;
    // The container's last act: upload run_results.json where it was told to.
    if (execution.resultsPath !== undefined && execution.outcome.runResults !== undefined) {
      blobs.set(execution.resultsPath, JSON.stringify(execution.outcome.runResults));
    }
  }

  const blobPathOf = (body: ArmStart['body'], name: string) => {
    const url = body.containers?.[0]?.env?.find((e) => e.name === name)?.value;
    return url === undefined ? undefined : decodeURIComponent(new URL(url).pathname);
  };

  function createExecution(body: ArmStart['body']): Execution {
    const name = `${jobName}-x${(++counter).toString(36).padStart(5, '0')}`;
    const execution: Execution = { name, polls: 0, status: 'Running', resultsPath: blobPathOf(body, 'DP_RESULTS_URL'), startedPath: blobPathOf(body, 'DP_STARTED_URL'), outcome, template: body };
    executions.set(name, execution);
    starts.push({ execution: name, body });
    announce(execution);
    return execution;
  }

  /** The template as an execution shows it. */
  function shownTemplate(execution: Execution): unknown {
    if (options.executionTemplate === 'as-sent') return execution.template;
    return { ...execution.template, containers: execution.template.containers?.map(({ env: _env, ...rest }) => rest) };
  }

  function handle(req: StandInRequest): StandInReply {
    const name = route(req);
    if (name === 'blob') {
      const scripted = failures.take('blob');
      if (scripted) return { status: scripted.status, text: 'scripted', headers: scripted.retryAfter === undefined ? {} : { 'retry-after': String(scripted.retryAfter) } };
      return blob(req);
    }
    if (req.headers['authorization'] !== `Bearer ${options.armToken}`) {
      return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    }
    if (req.query.get('api-version') !== ARM_API_VERSION) {
      return armError(400, 'InvalidApiVersionParameter', `The api-version '${req.query.get('api-version') ?? ''}' is invalid.`);
    }
    const scripted = failures.take(name);
    if (scripted) {
      const reply = armError(scripted.status, scripted.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', 'scripted failure');
      return scripted.retryAfter === undefined ? reply : { ...reply, headers: { 'retry-after': String(scripted.retryAfter) } };
    }
    switch (name) {
      case 'job':
        if (req.method !== 'GET') return armError(405, 'MethodNotAllowed', 'GET only');
        return {
          status: 200,
          json: { id: jobResourceId, name: jobName, type: 'Microsoft.App/jobs', properties: { provisioningState: 'Succeeded', template: { containers } } },
        };
      case 'start': {
        if (req.method !== 'POST') return armError(405, 'MethodNotAllowed', 'POST only');
        const body = JSON.parse(req.body || '{}') as ArmStart['body'];
        const execution = createExecution(body);
        const ref = { name: execution.name, id: `${jobResourceId}/executions/${execution.name}` };
        if (options.startMode === 'async') {
          const op = `op${counter}`;
          operations.set(op, { execution: execution.name, polls: 0 });
          const location = `${base}/subscriptions/${sub}/providers/Microsoft.App/locations/westeurope/operationResults/${op}?api-version=${ARM_API_VERSION}`;
          return { status: 202, text: '', headers: { location, 'retry-after': '1' } };
        }
        return { status: 200, json: ref };
      }
      case 'operation': {
        const op = operations.get(req.path.split('/').pop() ?? '');
        if (!op) return armError(404, 'OperationNotFound', 'no such operation');
        op.polls++;
        if (op.polls === 1) return { status: 202, text: '', headers: { location: `${base}${req.path}?api-version=${ARM_API_VERSION}` } };
        if (options.operationFinal === 'no-content') return { status: 204, text: '' };
        return { status: 200, json: { name: op.execution, id: `${jobResourceId}/executions/${op.execution}` } };
      }
      case 'executions': {
        const all = [...executions.values()].reverse();
        const skip = Number(req.query.get('$skipToken') ?? '0');
        const from = Number.isInteger(skip) && skip > 0 ? skip : 0;
        const page = all.slice(from, from + pageSize);
        const more = from + pageSize < all.length;
        return {
          status: 200,
          json: {
            ...(more ? { nextLink: `${base}${jobResourceId}/executions?api-version=${ARM_API_VERSION}&$skipToken=${from + pageSize}` } : {}),
            value: page.map((e) => ({
              id: `${jobResourceId}/executions/${e.name}`,
              name: e.name,
              type: 'Microsoft.App/jobs/executions',
              properties: { status: e.status, startTime: '2026-01-01T02:00:00+00:00', template: shownTemplate(e) },
            })),
          },
        };
      }
      case 'execution': {
        const execution = executions.get(req.path.split('/').pop() ?? '');
        if (!execution || !req.path.startsWith(`${jobResourceId}/executions/`)) return armError(404, 'ResourceNotFound', 'execution not found');
        advance(execution);
        return {
          status: 200,
          json: { id: `${jobResourceId}/executions/${execution.name}`, name: execution.name, type: 'Microsoft.App/jobs/executions', properties: { status: execution.status, startTime: '2026-01-01T02:00:00+00:00', template: shownTemplate(execution) } },
        };
      }
      case 'stop': {
        const executionName = req.path.split('/').slice(-2)[0] ?? '';
        const execution = executions.get(executionName);
        if (!execution) return armError(404, 'ResourceNotFound', 'execution not found');
        stops.push(executionName);
        execution.status = 'Stopped';
        return { status: 202, text: '', headers: { location: `${base}${jobResourceId}/executions/${executionName}?api-version=${ARM_API_VERSION}` } };
      }
      default:
        return armError(404, 'ResourceNotFound', `no route for ${req.method} ${req.path}`);
    }
  }

  const server = await serve((req) => {
    const reply = handle(req);
    requests.push({ method: req.method, path: req.path, authorization: req.headers['authorization'], status: reply.status });
    return reply;
  });
  base = server.url;

  return {
    url: server.url,
    jobResourceId,
    resultsContainerUrl: `${server.url}/${RESULTS_CONTAINER}`,
    starts,
    stops,
    requests,
    blobs,
    failNext: (r, status, opts) => failures.add(r, status, opts),
    setOutcome: (o) => {
      outcome = o;
    },
    close: () => server.close(),
  };
}

/**
 * Stands in for the managed identity endpoint: hands out the ARM token for management scopes and
 * the storage token for storage scopes, and records which scopes were asked for.
 */
export class StandInCredential implements TokenCredential {
  readonly scopes: string[] = [];
  constructor(
    private readonly tokens: { arm: string; storage: string },
    private readonly lifetimeMs = 3_600_000,
  ) {}

  getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? (scopes[0] ?? '') : scopes;
    this.scopes.push(scope);
    const token = scope.startsWith('https://storage.azure.com') ? this.tokens.storage : this.tokens.arm;
    return Promise.resolve({ token, expiresOnTimestamp: Date.now() + this.lifetimeMs });
  }
}
