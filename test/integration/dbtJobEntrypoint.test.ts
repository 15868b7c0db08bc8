/**
 * The job image's entrypoint.py, run for real with python3 against stand-ins of what a Container
 * Apps replica sees (identity endpoint, Key Vault, Blob Storage). `dbt` is a small fake on PATH
 * that records how it was called and writes a run_results.json: the image itself cannot be built
 * here (no container engine), but the script's contract with the app can be exercised end to end.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { dbtStepSchema } from '../../src/pipelines/schema';
import { createDbtAdapter } from '../../src/steps/dbt/adapter';
import type { StepOutcome } from '../../src/steps/protocol';
import { startArmStandIn, StandInCredential, type ArmStandIn } from '../../src/standins/arm/server';
import { startReplicaEnvironmentStandIn, type ReplicaEnvironmentStandIn } from '../../src/standins/arm/replicaEnvironment';
import { createTestStepContext } from '../support/dbtCloud/stepContext';
import { MODEL_ERROR_RESULTS, SUCCESS_METRICS, SUCCESS_RESULTS } from '../support/dbtCloud/fixtures';

const ENTRYPOINT = resolve(__dirname, '../../infra/dbt-job/entrypoint.py');
// The interpreter itself, not a version manager's shim: every test starts Python twice.
const probe = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
const python = probe.status === 0 ? probe.stdout.trim() : undefined;

const FAKE_DBT = (interpreter: string) => `#!${interpreter}
import json, os, sys
project = os.environ["DBT_PROJECT_DIR"]
with open(os.environ["FAKE_DBT_LOG"] + ".calls", "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
if sys.argv[1:2] == ["deps"]:
    sys.exit(0)
with open(os.environ["FAKE_DBT_LOG"], "w") as f:
    json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "account": os.environ.get("SNOWFLAKE_ACCOUNT"),
               "key": os.environ.get("SNOWFLAKE_PRIVATE_KEY"), "role": os.environ.get("SNOWFLAKE_ROLE"),
               "profiles": os.environ.get("DBT_PROFILES_DIR"),
               "model": open("models/nightly.sql").read() if os.path.exists("models/nightly.sql") else None}, f)
if "FAKE_DBT_RESULTS" in os.environ:
    os.makedirs(os.path.join(project, "target"), exist_ok=True)
    with open(os.path.join(project, "target", "run_results.json"), "w") as f:
        f.write(os.environ["FAKE_DBT_RESULTS"])
sys.exit(int(os.environ.get("FAKE_DBT_EXIT", "0")))
`;

interface Ran {
  code: number;
  stderr: string;
  dbt: { argv: string[]; cwd: string; account: string | null; key: string | null; role: string | null; profiles: string; model: string | null } | undefined;
  /** Every dbt command line, in order (`deps`, then the run). */
  calls: string[];
}

/**
 * A plain .tar of the given files, built by Python's tarfile (what `tar -cf` writes). Plain tar of
 * ASCII files holds only ASCII and NUL bytes, so it survives the ARM/Blob stand-in, which keeps blob
 * bodies as text; the entrypoint opens .tar and .tar.gz alike (`tarfile.open(mode="r:*")`).
 */
function tarOf(interpreter: string, files: Record<string, string>): string {
  const script = [
    'import io, json, sys, tarfile',
    'files = json.loads(sys.stdin.read())',
    'out = io.BytesIO()',
    'with tarfile.open(fileobj=out, mode="w") as tar:',
    '    for name, text in files.items():',
    '        data = text.encode()',
    '        info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 0',
    '        tar.addfile(info, io.BytesIO(data))',
    'sys.stdout.write(out.getvalue().decode("ascii"))',
  ].join('\n');
  const made = spawnSync(interpreter, ['-c', script], { input: JSON.stringify(files), encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return made.stdout;
}

void describe('dbt job entrypoint.py', { skip: python ? false : 'python3 is not installed' }, () => {
  const tokens = { arm: `arm-${randomUUID()}`, storage: `storage-${randomUUID()}`, vault: `vault-${randomUUID()}` };
  const identityHeader = randomUUID();
  const privateKey = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
  let arm: ArmStandIn;
  let replica: ReplicaEnvironmentStandIn;
  let work: string;

  before(async () => {
    // The stand-in does not "upload" for the job here: entrypoint.py does.
    arm = await startArmStandIn({ armToken: tokens.arm, storageToken: tokens.storage, outcome: { status: 'Succeeded' } });
    replica = await startReplicaEnvironmentStandIn({
      identityHeader,
      tokens,
      secrets: { 'snowflake-account': 'xy12345.west-europe.azure', 'snowflake-private-key': privateKey, 'snowflake-user': 'SVC_DBT' },
    });
    work = mkdtempSync(join(tmpdir(), 'dbt-entrypoint-'));
    mkdirSync(join(work, 'bin'));
    writeFileSync(join(work, 'bin', 'dbt'), FAKE_DBT(python!));
    chmodSync(join(work, 'bin', 'dbt'), 0o755);
  });
  after(async () => {
    await arm.close();
    await replica.close();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * Runs entrypoint.py as the custom image does (`python entrypoint.py …`), or with `inline` as the
   * public dbt image does through the job's command (`python -c "<entrypoint.py>" …`).
   */
  function runEntrypoint(args: string[], env: Record<string, string>, vaultUrl = replica.vaultUrl, inline = false): Promise<Ran> {
    const project = join(work, `project-${randomUUID()}`);
    mkdirSync(project);
    const log = join(work, `dbt-${randomUUID()}.json`);
    const script = inline ? ['-c', readFileSync(ENTRYPOINT, 'utf8')] : [ENTRYPOINT];
    return new Promise((done) => {
      // Async on purpose: the stand-ins answer from this process's event loop.
      execFile(
        python!,
        [...script, ...args],
        {
          env: {
            PATH: `${join(work, 'bin')}:${process.env['PATH'] ?? ''}`,
            DBT_PROJECT_DIR: project,
            DBT_PROFILES_DIR: join(work, 'profiles'),
            IDENTITY_ENDPOINT: replica.identityEndpoint,
            IDENTITY_HEADER: identityHeader,
            AZURE_CLIENT_ID: '00000000-0000-0000-0000-0000000000c1',
            KEY_VAULT_URL: vaultUrl,
            FAKE_DBT_LOG: log,
            ...env,
          },
        },
        (error, _stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          const calls = existsSync(`${log}.calls`) ? readFileSync(`${log}.calls`, 'utf8').split('\n').filter(Boolean) : [];
          done({ code, stderr, dbt: existsSync(log) ? (JSON.parse(readFileSync(log, 'utf8')) as Ran['dbt']) : undefined, calls });
        },
      );
    });
  }

  const blobPath = (url: string) => decodeURIComponent(new URL(url).pathname);

  void test('runs dbt with the given args and Key Vault settings, uploads run_results.json, exits 0', async () => {
    const url = `${arm.resultsContainerUrl}/run-a/transform/1/run_results.json`;
    const ran = await runEntrypoint(['build', '--select', 'tag:nightly'], { DP_RESULTS_URL: url, FAKE_DBT_RESULTS: JSON.stringify(SUCCESS_RESULTS) });
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(ran.dbt?.argv, ['build', '--select', 'tag:nightly']);
    assert.equal(ran.dbt?.account, 'xy12345.west-europe.azure');
    assert.equal(ran.dbt?.key, privateKey, 'a multi-line PEM key arrives intact');
    assert.equal(ran.dbt?.role, null, 'a secret missing from the vault is simply not set');
    assert.deepEqual(JSON.parse(arm.blobs.get(blobPath(url)) ?? 'null'), SUCCESS_RESULTS);
    assert.ok(replica.tokenRequests.some((r) => r.resource === 'https://storage.azure.com/' && r.clientId === '00000000-0000-0000-0000-0000000000c1'));
    for (const token of Object.values(tokens)) assert.ok(!ran.stderr.includes(token), 'no token in the job log');
    assert.ok(!ran.stderr.includes('MIIEvQ'), 'no secret value in the job log');
  });

  void test('names its execution (CONTAINER_APP_JOB_EXECUTION_NAME) in DP_STARTED_URL before running dbt', async () => {
    const started = `${arm.resultsContainerUrl}/run-b/transform/1/execution.json`;
    const ran = await runEntrypoint(['run'], { DP_STARTED_URL: started, CONTAINER_APP_JOB_EXECUTION_NAME: 'dbt-job-x00042', FAKE_DBT_RESULTS: JSON.stringify(SUCCESS_RESULTS) });
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(JSON.parse(arm.blobs.get(blobPath(started)) ?? 'null'), { execution: 'dbt-job-x00042' });
  });

  void test('no args means `dbt run`', async () => {
    const ran = await runEntrypoint([], { FAKE_DBT_RESULTS: JSON.stringify(SUCCESS_RESULTS) });
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(ran.dbt?.argv, ['run']);
  });

  void test("a failed dbt run still uploads its results and exits with dbt's code", async () => {
    const url = `${arm.resultsContainerUrl}/run-b/transform/2/run_results.json`;
    const ran = await runEntrypoint(['run'], { DP_RESULTS_URL: url, FAKE_DBT_RESULTS: JSON.stringify(MODEL_ERROR_RESULTS), FAKE_DBT_EXIT: '1' });
    assert.equal(ran.code, 1);
    assert.deepEqual(JSON.parse(arm.blobs.get(blobPath(url)) ?? 'null'), MODEL_ERROR_RESULTS);
  });

  void test('dbt that wrote no results uploads nothing and keeps its exit code', async () => {
    const url = `${arm.resultsContainerUrl}/run-c/transform/1/run_results.json`;
    const ran = await runEntrypoint(['run'], { DP_RESULTS_URL: url, FAKE_DBT_EXIT: '2' });
    assert.equal(ran.code, 2);
    assert.equal(arm.blobs.has(blobPath(url)), false);
  });

  void test('unreadable Key Vault settings stop the job before dbt runs (exit 3, no results)', async () => {
    const denied = await startReplicaEnvironmentStandIn({ identityHeader, tokens, secrets: {}, vaultStatus: 403 });
    try {
      const url = `${arm.resultsContainerUrl}/run-d/transform/1/run_results.json`;
      const env = { DP_RESULTS_URL: url, FAKE_DBT_RESULTS: '{}', IDENTITY_ENDPOINT: denied.identityEndpoint };
      const ran = await runEntrypoint(['run'], env, denied.vaultUrl);
      assert.equal(ran.code, 3);
      assert.equal(ran.dbt, undefined, 'dbt did not run');
      assert.match(ran.stderr, /HTTP 403/);
      assert.equal(arm.blobs.has(blobPath(url)), false);
    } finally {
      await denied.close();
    }
  });

  void test('public image: fetches the project from DBT_PROJECT_URL with the identity, runs dbt in it, uploads results', async () => {
    const projectUrl = `${arm.resultsContainerUrl}/project/project.tar`;
    arm.blobs.set(blobPath(projectUrl), tarOf(python!, {
      'my-project/dbt_project.yml': "name: shop\nprofile: durable_pipelines\n",
      'my-project/profiles.yml': 'durable_pipelines: {}\n',
      'my-project/models/nightly.sql': 'select 1 as id',
    }));
    const url = `${arm.resultsContainerUrl}/run-e/transform/1/run_results.json`;
    const before = replica.tokenRequests.length;
    const ran = await runEntrypoint(['build'], { DBT_PROJECT_URL: projectUrl, DP_RESULTS_URL: url, FAKE_DBT_RESULTS: JSON.stringify(SUCCESS_RESULTS) }, replica.vaultUrl, true);
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(ran.calls, ['build'], 'no packages named: no dbt deps');
    assert.equal(ran.dbt?.model, 'select 1 as id', 'dbt runs inside the unpacked project');
    assert.equal(ran.dbt?.profiles, ran.dbt?.cwd, "the project's profiles.yml is used when the image has none");
    assert.equal(ran.dbt?.account, 'xy12345.west-europe.azure');
    assert.deepEqual(JSON.parse(arm.blobs.get(blobPath(url)) ?? 'null'), SUCCESS_RESULTS);
    const storageTokens = replica.tokenRequests.slice(before).filter((r) => r.resource === 'https://storage.azure.com/');
    assert.ok(storageTokens.length >= 1 && storageTokens.every((r) => r.clientId === '00000000-0000-0000-0000-0000000000c1'));
    assert.ok(arm.requests.some((r) => r.method === 'GET' && r.path === blobPath(projectUrl) && r.status === 200), 'the project blob was read with a bearer token');
  });

  void test('public image: a project that names packages but ships no dbt_packages runs dbt deps first', async () => {
    const projectUrl = `${arm.resultsContainerUrl}/project/with-packages.tar`;
    arm.blobs.set(blobPath(projectUrl), tarOf(python!, {
      'dbt_project.yml': 'name: shop\n',
      'packages.yml': 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n',
    }));
    const ran = await runEntrypoint(['run'], { DBT_PROJECT_URL: projectUrl, FAKE_DBT_RESULTS: JSON.stringify(SUCCESS_RESULTS) }, replica.vaultUrl, true);
    assert.equal(ran.code, 0, ran.stderr);
    assert.deepEqual(ran.calls, ['deps', 'run']);
  });

  void test('public image: a missing project or an archive entry outside the project stops the job before dbt (exit 3)', async () => {
    const escaping = `${arm.resultsContainerUrl}/project/escaping.tar`;
    arm.blobs.set(blobPath(escaping), tarOf(python!, { 'dbt_project.yml': 'name: shop\n', '../outside.txt': 'x' }));
    const refused = await runEntrypoint(['run'], { DBT_PROJECT_URL: escaping, FAKE_DBT_RESULTS: '{}' }, replica.vaultUrl, true);
    assert.equal(refused.code, 3);
    assert.deepEqual(refused.calls, [], 'dbt did not run');
    assert.match(refused.stderr, /points outside the project/);

    const missing = await runEntrypoint(['run'], { DBT_PROJECT_URL: `${arm.resultsContainerUrl}/project/absent.tar`, FAKE_DBT_RESULTS: '{}' }, replica.vaultUrl, true);
    assert.equal(missing.code, 3);
    assert.deepEqual(missing.calls, []);
    assert.match(missing.stderr, /could not fetch the dbt project.*HTTP 404/);
  });

  void test('end to end: the adapter starts the execution, the entrypoint uploads, the adapter reports metrics', async () => {
    const adapter = createDbtAdapter({ credential: new StandInCredential(tokens) });
    const t = createTestStepContext({
      runId: `run-${randomUUID()}`,
      settings: { AZURE_RESOURCE_MANAGER_URL: arm.url, DBT_JOB_RESOURCE_ID: arm.jobResourceId, DBT_RESULTS_CONTAINER_URL: arm.resultsContainerUrl },
    });
    const step = dbtStepSchema.parse({
      id: 'transform',
      kind: 'dbt',
      runner: { type: 'containerAppsJob', jobResourceId: { setting: 'DBT_JOB_RESOURCE_ID' }, resultsContainerUrl: { setting: 'DBT_RESULTS_CONTAINER_URL' } },
      command: 'build',
    });
    let outcome: StepOutcome = await adapter.start(step, t.ctx);
    // Run the "container" with exactly what ARM was asked to start.
    const container = arm.starts.at(-1)!.body.containers![0]!;
    const env = Object.fromEntries(container.env!.filter((e) => e.name.startsWith('DP_')).map((e) => [e.name, e.value ?? '']));
    const ran = await runEntrypoint(container.args!, { ...env, FAKE_DBT_RESULTS: JSON.stringify(SUCCESS_RESULTS) });
    assert.equal(ran.code, 0, ran.stderr);
    for (let i = 0; outcome.status === 'running' && i < 10; i++) outcome = await adapter.poll!(step, outcome.handle, t.ctx);
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(outcome.metrics, SUCCESS_METRICS);
  });
});
