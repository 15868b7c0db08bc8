/**
 * The stand-ins for any pipeline of the catalog, not only the seed (`npm run demo -- --pipeline
 * <name>`): every secret and app setting the definition names gets a value that points at a local
 * server speaking the service's protocol — an export function URL and key, a Snowflake user with
 * the definition's auth (password, a key pair generated here, an OAuth token, the workload
 * identity token), the dbt Container Apps Job (ARM) or a dbt Cloud stand-in, the Slack or Teams
 * webhook. What the demo cannot point anywhere (a URL written literally in the definition, a
 * second Snowflake account) is said as a problem, before any run starts.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { ConfigValue, PipelineDefinition, StepDefinition } from '../pipelines/schema';
import { referencedNames } from '../pipelines/references';
import { DBT_CLOUD_ACCESS_URL_SETTING } from '../steps/dbt/cloud';
import { startDbtCloudStandIn, type DbtCloudStandIn } from './dbtCloud/server';
import { DEMO_RUN_RESULTS, type StandInEnvironment } from './environment';
import { STANDIN_TOKEN } from './keyvault/server';
import type { UserSpec } from './snowflake/server';

export interface PipelineStandIns {
  /** App settings to merge into the app's environment (process.env) before it starts. */
  readonly settings: Record<string, string>;
  /** What the demo cannot stand in for; empty when every step can run. */
  readonly problems: readonly string[];
  readonly dbtCloud?: DbtCloudStandIn;
  stop(): Promise<void>;
}

const DBT_CLOUD_TOKEN = 'demo-dbt-cloud-token';

/** The Snowflake account a pipeline names literally, if any (the stand-in must answer for it). */
export function literalSnowflakeAccount(pipeline: PipelineDefinition): string | undefined {
  for (const step of pipeline.steps) {
    if (step.kind === 'snowflake' && typeof step.connection.account === 'string') return step.connection.account;
  }
  return undefined;
}

export async function standInsForPipeline(pipeline: PipelineDefinition, world: StandInEnvironment, options: { readonly failTransform?: boolean } = {}): Promise<PipelineStandIns> {
  const settings: Record<string, string> = {};
  const problems: string[] = [];
  const given = new Set<string>();
  /** A value the definition reads from a secret or setting gets the stand-in's; a literal stays as written. */
  const give = (value: ConfigValue | undefined, demo: string): string => {
    if (value === undefined) return demo;
    if (typeof value === 'string') return value;
    if ('secret' in value) {
      world.keyVault.setSecret(value.secret, demo);
      given.add(`secret:${value.secret}`);
    } else {
      settings[value.setting] = demo;
      given.add(`setting:${value.setting}`);
    }
    return demo;
  };
  let dbtCloud: DbtCloudStandIn | undefined;
  let cloudIds: { accountId: string; jobId: string } | undefined;
  const snowflakeAccount = literalSnowflakeAccount(pipeline);

  for (const [index, step] of pipeline.steps.entries()) {
    const where = `${pipeline.name}.steps[${index}] (${step.id})`;
    switch (step.kind) {
      case 'azureFunction': {
        const url = step.url;
        if (typeof url === 'string') {
          problems.push(`${where}.url is written in the definition (${url}): the demo points a step at its stand-in through a { secret } or { setting }`);
          break;
        }
        world.trackExportUrl((standIn) => give(url, standIn));
        if (step.functionKey) give(step.functionKey, world.exportFunction.config.key);
        break;
      }
      case 'snowflake':
        snowflakeStandIn(step, where);
        break;
      case 'dbt':
        if (step.runner.type === 'containerAppsJob') {
          give(step.runner.jobResourceId, world.dbt.jobResourceId);
          give(step.runner.resultsContainerUrl, world.dbt.resultsContainerUrl);
        } else {
          const ids = { accountId: give(step.runner.accountId, '70403'), jobId: give(step.runner.jobId, '123') };
          if (cloudIds && (cloudIds.accountId !== ids.accountId || cloudIds.jobId !== ids.jobId)) {
            problems.push(`${where}: a second dbt Cloud job (${ids.accountId}/${ids.jobId}); the demo stands in for one`);
            break;
          }
          cloudIds = ids;
          give(step.runner.token, DBT_CLOUD_TOKEN);
          dbtCloud ??= await startDbtCloudStandIn({
            token: DBT_CLOUD_TOKEN,
            ...ids,
            outcome: options.failTransform ? { status: 20, statusMessage: 'demo: --fail-step transform' } : { status: 10, runResults: DEMO_RUN_RESULTS },
          });
          settings[DBT_CLOUD_ACCESS_URL_SETTING] = dbtCloud.url;
        }
        break;
      case 'activity':
        // An activity the app registers runs as it is: nothing to stand in for.
        break;
      case 'pipeline':
        // The child pipeline's services are stood in for with its own definition (the demo passes every pipeline it calls).
        break;
    }
  }
  for (const alert of pipeline.alerts) give(alert.webhook, alert.channel === 'slack' ? world.slack.slackUrl : world.slack.teamsUrl);
  // Anything else the definition names still needs a value for the run (and /api/health) to go on.
  for (const name of referencedNames(pipeline, 'secret')) if (!given.has(`secret:${name}`)) world.keyVault.setSecret(name, `demo-value-of-${name}`);
  for (const name of referencedNames(pipeline, 'setting')) if (!given.has(`setting:${name}`)) settings[name] ??= `demo-value-of-${name}`;

  return {
    settings,
    problems,
    ...(dbtCloud ? { dbtCloud } : {}),
    async stop() {
      await dbtCloud?.close();
    },
  };

  function snowflakeStandIn(step: Extract<StepDefinition, { kind: 'snowflake' }>, where: string): void {
    const c = step.connection;
    if (typeof c.account === 'string' && snowflakeAccount !== undefined && c.account.toUpperCase() !== snowflakeAccount.toUpperCase()) {
      problems.push(`${where}: a second Snowflake account (${c.account}); the demo's stand-in answers for ${snowflakeAccount}`);
      return;
    }
    give(c.account, 'demo_account');
    const user = give(c.user, 'PIPELINE_LOADER');
    let spec: UserSpec;
    switch (c.auth.type) {
      case 'password':
        spec = { password: give(c.auth.password, 'demo-password-not-a-secret') };
        break;
      case 'oauth':
        spec = { oauthToken: give(c.auth.token, 'demo-oauth-token') };
        break;
      case 'workloadIdentity':
        // The app's credential in the demo hands out the stand-ins' token.
        spec = { workloadIdentityToken: STANDIN_TOKEN };
        break;
      case 'keyPair': {
        // A key pair made for this demo: the stand-in checks the JWT the driver signs with it.
        const passphrase = c.auth.passphrase ? give(c.auth.passphrase, 'demo-passphrase') : undefined;
        const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        give(
          c.auth.privateKey,
          String(privateKey.export(passphrase === undefined ? { type: 'pkcs8', format: 'pem' } : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })),
        );
        spec = { publicKeyPem: String(publicKey.export({ type: 'spki', format: 'pem' })) };
        break;
      }
    }
    world.snowflake.setUser(user, spec);
    give(c.warehouse, 'LOAD_WH');
    give(c.database, 'RAW');
    give(c.schema, 'SHOP');
    if (c.role !== undefined) give(c.role, 'LOADER');
  }
}
