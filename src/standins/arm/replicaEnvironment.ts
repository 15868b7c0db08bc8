/**
 * What a Container Apps replica talks to besides Blob Storage: the managed identity endpoint
 * (`IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`, api-version 2019-08-01) and Key Vault's secrets REST
 * API (`GET /secrets/{name}?api-version=7.4`, bearer token for https://vault.azure.net). Used to run
 * the job image's entrypoint.py for real.
 */
import { serve, type StandInReply } from '../dbtCloud/httpServer';

export interface ReplicaEnvironmentStandIn {
  /** Value for IDENTITY_ENDPOINT. */
  readonly identityEndpoint: string;
  /** Value for KEY_VAULT_URL. */
  readonly vaultUrl: string;
  readonly tokenRequests: readonly { resource: string | null; clientId: string | null }[];
  readonly secretReads: readonly string[];
  close(): Promise<void>;
}

export async function startReplicaEnvironmentStandIn(options: {
  identityHeader: string;
  tokens: { storage: string; vault: string };
  secrets: Record<string, string>;
  /** Answer every Key Vault read with this status instead (e.g. 403). */
  vaultStatus?: number;
}): Promise<ReplicaEnvironmentStandIn> {
  const tokenRequests: { resource: string | null; clientId: string | null }[] = [];
  const secretReads: string[] = [];
  const server = await serve((req): StandInReply => {
    if (req.path === '/msi/token') {
      if (req.headers['x-identity-header'] !== options.identityHeader) return { status: 401, json: { error: 'invalid identity header' } };
      if (req.query.get('api-version') !== '2019-08-01') return { status: 400, json: { error: 'unsupported api-version' } };
      const resource = req.query.get('resource');
      tokenRequests.push({ resource, clientId: req.query.get('client_id') });
      const token = resource?.startsWith('https://storage.azure.com') ? options.tokens.storage : resource?.startsWith('https://vault.azure.net') ? options.tokens.vault : undefined;
      if (!token) return { status: 400, json: { error: `no token for ${resource ?? ''}` } };
      return { status: 200, json: { access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource, token_type: 'Bearer' } };
    }
    const secret = /^\/secrets\/([0-9A-Za-z-]+)$/.exec(req.path)?.[1];
    if (secret !== undefined) {
      if (req.headers['authorization'] !== `Bearer ${options.tokens.vault}`) return { status: 401, json: { error: { code: 'Unauthorized', message: 'bad token' } } };
      secretReads.push(secret);
      if (options.vaultStatus !== undefined) return { status: options.vaultStatus, json: { error: { code: 'Forbidden', message: 'The user does not have secrets get permission' } } };
      const value = options.secrets[secret];
      if (value === undefined) return { status: 404, json: { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${secret} was not found in this key vault.` } } };
      return { status: 200, json: { value, id: `${server.url}/secrets/${secret}/0123456789abcdef`, attributes: { enabled: true } } };
    }
    return { status: 404, json: { error: 'not found' } };
  });
  return {
    identityEndpoint: `${server.url}/msi/token`,
    vaultUrl: server.url,
    tokenRequests,
    secretReads,
    close: () => server.close(),
  };
}
