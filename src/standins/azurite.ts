/**
 * Starts Azurite (the real Storage emulator, npm `azurite`) for a test file or a bench: Table and Blob
 * services on free ports of 127.0.0.1, in-memory persistence, no access log, no telemetry.
 *
 * Azurite runs in a child process: its LokiJS store and request handling then do not share the test's
 * event loop (latency numbers stay honest), and a crashed or forgotten emulator dies with its parent
 * (the child exits when the IPC channel closes). We drive Azurite's own server classes rather than
 * its CLI because the CLI prints the configured port, which is useless with port 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

/** Azurite's well-known development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;

export interface AzuriteInstance {
  /** Table endpoint including the account path, e.g. http://127.0.0.1:51234/devstoreaccount1 */
  readonly tableUrl: string;
  readonly blobUrl?: string;
  /** Connection string naming both endpoints (use with `allowInsecureConnection: true`). */
  readonly connectionString: string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /** Also start the Blob service (default true). */
  readonly blob?: boolean;
  /** Keep the table data in this folder (created if needed) instead of in memory. */
  readonly location?: string;
  /** The Table service's port (default: a free one). With `location`, a stopped emulator comes back where it was. */
  readonly tablePort?: number;
}

interface ReadyMessage {
  readonly ready: true;
  readonly table: string;
  readonly blob?: string;
}

/** Runs in the child (CommonJS, plain JS). Module paths are resolved by the parent and passed in. */
const CHILD_SCRIPT = `
const paths = JSON.parse(process.env.AZURITE_PATHS);
const withBlob = process.env.AZURITE_BLOB === '1';
const location = process.env.AZURITE_LOCATION || '';
const tableDb = location ? require('node:path').join(location, 'azurite-table.db') : 'azurite-table.db';
const telemetry = require(paths.telemetry).AzuriteTelemetryClient;
telemetry.enableTelemetry = false;
const TableServer = require(paths.tableServer).default;
const TableConfiguration = require(paths.tableConfiguration).default;
const servers = [];
async function main() {
  // host, port, keepAlive, dbPath, debugLog, accessLog, accessStream, debugPath, loose,
  // skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, inMemoryPersistence
  const table = new TableServer(new TableConfiguration('127.0.0.1', Number(process.env.AZURITE_TABLE_PORT || 0), undefined, tableDb,
    false, false, undefined, undefined, true, true, '', '', '', undefined, false, !location));
  await table.start();
  servers.push(table);
  let blobAddress;
  if (withBlob) {
    const BlobServer = require(paths.blobServer).default;
    const BlobConfiguration = require(paths.blobConfiguration).default;
    // host, port, keepAlive, dbPath, extentDbPath, persistencePaths, accessLog, accessStream, debugLog,
    // debugPath, loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, inMemory
    const blob = new BlobServer(new BlobConfiguration('127.0.0.1', 0, undefined, 'azurite-blob.db',
      'azurite-extent.db', undefined, false, undefined, false, undefined, true, true, '', '', '',
      undefined, false, true));
    await blob.start();
    servers.push(blob);
    blobAddress = blob.getHttpServerAddress();
  }
  process.send({ ready: true, table: table.getHttpServerAddress(), blob: blobAddress });
}
async function stop() {
  for (const s of servers) await s.close().catch(() => undefined);
  process.exit(0);
}
process.on('message', (m) => { if (m === 'stop') void stop(); });
process.on('disconnect', () => void stop());
main().catch((e) => { console.error(e); process.exit(1); });
`;

function azuritePaths(): Record<string, string> {
  const base = 'azurite/dist/src/';
  return {
    telemetry: require.resolve(`${base}common/Telemetry`),
    tableServer: require.resolve(`${base}table/TableServer`),
    tableConfiguration: require.resolve(`${base}table/TableConfiguration`),
    blobServer: require.resolve(`${base}blob/BlobServer`),
    blobConfiguration: require.resolve(`${base}blob/BlobConfiguration`),
  };
}

function isReady(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as { ready?: unknown }).ready === true;
}

async function waitReady(child: ChildProcess, stderr: () => string): Promise<ReadyMessage> {
  return new Promise<ReadyMessage>((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!isReady(message)) return;
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`azurite exited before it was ready (code ${String(code)}): ${stderr()}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const withBlob = options.blob ?? true;
  if (options.location !== undefined) mkdirSync(options.location, { recursive: true });
  const child = spawn(process.execPath, ['-e', CHILD_SCRIPT], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {
      ...process.env,
      AZURITE_PATHS: JSON.stringify(azuritePaths()),
      AZURITE_BLOB: withBlob ? '1' : '0',
      AZURITE_LOCATION: options.location === undefined ? '' : resolve(options.location),
      AZURITE_TABLE_PORT: String(options.tablePort ?? 0),
      NODE_OPTIONS: '',
    },
  });
  let errText = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errText = (errText + chunk.toString()).slice(-4000);
  });
  const ready = await waitReady(child, () => errText);
  const tableUrl = `${ready.table}/${AZURITE_ACCOUNT.name}`;
  const blobUrl = ready.blob === undefined ? undefined : `${ready.blob}/${AZURITE_ACCOUNT.name}`;
  const connectionString = [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT.name}`,
    `AccountKey=${AZURITE_ACCOUNT.key}`,
    `TableEndpoint=${tableUrl}`,
    ...(blobUrl === undefined ? [] : [`BlobEndpoint=${blobUrl}`]),
  ].join(';') + ';';

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return stopped;
  };
  return { tableUrl, ...(blobUrl === undefined ? {} : { blobUrl }), connectionString, stop };
}
