/**
 * The deployment and the code agree: every app setting the code reads is set by the Bicep or
 * documented as optional; every secret the shipped pipelines name is documented with its
 * `az keyvault secret set` line; host.json says what the docs say; no key or connection string
 * is written into infra; the workbook, the alert and docs/monitoring.md run the same queries.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { configSchema } from '../../src/config/config';
import { pipelineInputs } from '../../src/pipelines/definitions';
import { referencedNames } from '../../src/pipelines/references';

const root = resolve(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const readJson = <T>(path: string): T => JSON.parse(read(path)) as T;

function filesUnder(dir: string, suffix: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((name) => {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) return filesUnder(relative(root, path), suffix);
    return name.endsWith(suffix) ? [relative(root, path)] : [];
  });
}

/** App settings read directly from the environment anywhere under src/. */
function settingsReadInSource(): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /process\.env\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\]/g,
    /process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g,
    /\bsettings?\(\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\)/g,
    /\{\s*setting:\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\}/g,
    // Named constants passed to ctx.settings(), e.g. `ARM_URL_SETTING = 'AZURE_RESOURCE_MANAGER_URL'`.
    /\b[A-Z_]*SETTING[A-Z_]*\s*=\s*['"]([A-Z][A-Z0-9_]*[A-Z0-9])['"]/g,
  ];
  // The stand-ins (src/standins) are local servers for the demo and tests, not the deployed app:
  // the variables they hand their own child processes are not app settings.
  for (const file of filesUnder('src', '.ts').filter((f) => !f.split(/[\\/]/).includes('standins'))) {
    // Comments show examples (`{ setting: 'NAME' }`); only code counts.
    const code = read(file).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const pattern of patterns) for (const m of code.matchAll(pattern)) names.add(m[1]!);
  }
  return names;
}

/** Setting names the Function App Bicep writes (keys of its app-settings objects). */
function settingsSetByInfra(): Set<string> {
  const bicep = read('infra/app/functionApp.bicep');
  return new Set([...bicep.matchAll(/^\s*([A-Z][A-Za-z0-9_]*)\s*:/gm)].map((m) => m[1]!));
}

interface LocalSettings {
  Values: Record<string, string>;
  _settings: Record<string, string>;
}

/** Setting names documented in local.settings.sample.json or the README's settings table. */
function settingsDocumented(): Set<string> {
  const sample = readJson<LocalSettings>('local.settings.sample.json');
  const names = new Set([...Object.keys(sample.Values), ...Object.keys(sample._settings)]);
  if (existsSync(join(root, 'README.md'))) {
    for (const m of read('README.md').matchAll(/^\|\s*([^|]+)\|/gm)) {
      for (const name of m[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(name[1]!);
    }
  }
  return names;
}

const secretNames = [...new Set(pipelineInputs.flatMap((p) => referencedNames(p, 'secret')))].sort();
const definitionSettings = [...new Set(pipelineInputs.flatMap((p) => referencedNames(p, 'setting')))].sort();

describe('app settings', () => {
  const infra = settingsSetByInfra();
  const documented = settingsDocumented();
  const sample = readJson<LocalSettings>('local.settings.sample.json');

  test('every setting of the config schema is set by infra or documented as optional', () => {
    const missing = Object.keys(configSchema.shape).filter((name) => !infra.has(name) && !documented.has(name));
    assert.deepEqual(missing, []);
  });

  test('every { setting } a shipped pipeline reads is set by infra and documented', () => {
    assert.ok(definitionSettings.length > 0, 'the seed pipeline reads the dbt job settings');
    assert.deepEqual(definitionSettings.filter((name) => !infra.has(name)), []);
    assert.deepEqual(definitionSettings.filter((name) => !documented.has(name)), []);
  });

  test('every setting read directly in src/ is set by infra or documented', () => {
    const missing = [...settingsReadInSource()].filter((name) => !infra.has(name) && !documented.has(name)).sort();
    assert.deepEqual(missing, []);
  });

  test('every setting the sample sets is documented in it, and the sample stays runnable', () => {
    assert.deepEqual(Object.keys(sample.Values).filter((name) => !(name in sample._settings) && !name.startsWith('SECRET_')), []);
    assert.equal(sample.Values['AzureWebJobsStorage'], 'UseDevelopmentStorage=true');
    // An empty URL fails the schema: optional URLs are documented, not set to "".
    const parsed = configSchema.safeParse(sample.Values);
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
  });

  test('the sample names one SECRET_ setting per seed secret and holds no value', () => {
    const settingOf = (name: string) => `SECRET_${name.toUpperCase().replace(/-/g, '_')}`;
    const missing = secretNames.map(settingOf).filter((setting) => !(setting in sample.Values));
    assert.deepEqual(missing, [], `local.settings.sample.json: add to "Values", each with an empty value (a new user's local.settings.json starts from it; README "Adding a pipeline"):\n${missing.map((s) => `    "${s}": "",`).join('\n')}`);
    const withValue = secretNames.map(settingOf).filter((setting) => setting in sample.Values && sample.Values[setting] !== '');
    assert.deepEqual(withValue, [], 'local.settings.sample.json is committed: leave these secret settings empty ("")');
  });
});

describe('secrets', () => {
  const deploy = read('docs/deploy.md');

  test('every secret a shipped pipeline uses has an az keyvault secret set line in docs/deploy.md', () => {
    assert.ok(secretNames.includes('snowflake-account'));
    const missing = secretNames.filter((name) => !new RegExp(`az keyvault secret set[^\\n]*--name ${name}\\b`).test(deploy));
    assert.deepEqual(missing, [], `docs/deploy.md, section "Put the secrets in Key Vault": add a line per secret (README "Adding a pipeline"):\n${missing.map((n) => `    az keyvault secret set --vault-name "$KV" --name ${n} --value '<…>'`).join('\n')}`);
  });
});

describe('host.json', () => {
  interface HostJson {
    version: string;
    extensionBundle: { id: string; version: string };
    extensions: { durableTask: { hubName: string; overridableExistingInstanceStates: string; storageProvider: { partitionCount: number; useTablePartitionManagement: boolean; maxQueuePollingInterval: string } } };
  }
  const host = readJson<HostJson>('host.json');
  const durable = host.extensions.durableTask;
  const docs = ['README.md', 'docs/deploy.md', 'docs/monitoring.md'].filter((p) => existsSync(join(root, p))).map((p) => ({ path: p, text: read(p) }));

  test('the task hub comes from DURABLE_TASK_HUB, which infra and the sample set', () => {
    assert.equal(durable.hubName, '%DURABLE_TASK_HUB%');
    assert.ok(settingsSetByInfra().has('DURABLE_TASK_HUB'));
    assert.ok(readJson<LocalSettings>('local.settings.sample.json').Values['DURABLE_TASK_HUB']);
  });

  test('one partition, queue polling backs off to 10 s at most, and a start over a running instance is rejected', () => {
    // The scale controller polls every control queue + the work-item queue every 10 s all month,
    // scaled to zero or not: one partition means 2 queues instead of 5 (README "What it costs").
    // 10 s is Microsoft's Flex guidance; it costs cents because an idle Flex instance is removed
    // within about 30 s, so the worker's own polling only runs while a run does.
    assert.equal(durable.storageProvider.partitionCount, 1);
    // Partition leases in a table: a query + a replace every 10 s at table prices, instead of two
    // blob lease collections listing and renewing (AzureStorageOptions.UseTablePartitionManagement).
    assert.equal(durable.storageProvider.useTablePartitionManagement, true);
    const [h, m, s] = durable.storageProvider.maxQueuePollingInterval.split(':').map(Number);
    assert.equal(h! * 3600 + m! * 60 + s!, 10);
    assert.equal(durable.overridableExistingInstanceStates, 'NonRunningStates');
    assert.equal(host.extensionBundle.id, 'Microsoft.Azure.Functions.ExtensionBundle');
    assert.equal(host.extensionBundle.version, '[4.*, 5.0.0)');
  });

  test('docs that mention these settings give host.json\'s values', () => {
    const expected: Record<string, string> = {
      overridableExistingInstanceStates: durable.overridableExistingInstanceStates,
      maxQueuePollingInterval: durable.storageProvider.maxQueuePollingInterval,
      hubName: durable.hubName,
    };
    for (const { path, text } of docs) {
      for (const [key, value] of Object.entries(expected)) {
        for (const m of text.matchAll(new RegExp(`${key}\\W{1,6}?([%\\w][%\\w:.]*)`, 'g'))) {
          assert.equal(m[1], value, `${path} says ${key} is ${m[1]}`);
        }
      }
    }
    assert.ok(read('docs/deploy.md').includes('NonRunningStates'));
  });
});

describe('infra', () => {
  const bicepFiles = filesUnder('infra', '.bicep').filter((p) => !p.startsWith('infra/dbt-job/'));
  const infraText = [...bicepFiles, 'infra/main.parameters.json', 'azure.yaml', 'host.json', 'local.settings.sample.json']
    .map((p) => ({ path: p, text: read(p) }));

  test('no account key, instrumentation key, SAS or key listing anywhere', () => {
    const forbidden = [/AccountKey=/i, /listKeys\(/, /listCredentials\(/, /InstrumentationKey=/i, /SharedAccessSignature/i, /DefaultEndpointsProtocol/i, /APPINSIGHTS_INSTRUMENTATIONKEY/, /\bAzureWebJobsStorage\s*:/];
    for (const { path, text } of infraText) {
      for (const pattern of forbidden) assert.doesNotMatch(text, pattern, `${path} matches ${pattern}`);
    }
  });

  test('storage refuses shared keys and monitoring refuses local auth', () => {
    assert.match(read('infra/app/storage.bicep'), /allowSharedKeyAccess: false/);
    const monitoring = read('infra/app/monitoring.bicep');
    assert.match(monitoring, /features: \{ disableLocalAuth: true \}/);
    assert.match(monitoring, /^\s*disableLocalAuth: true/m);
    const app = read('infra/app/functionApp.bicep');
    assert.match(app, /AzureWebJobsStorage__credential: 'managedidentity'/);
    assert.match(app, /APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=\$\{identityClientId\}'/);
    assert.match(app, /name: 'durable', instanceCount: durableAlwaysReady/);
  });

  test('every Bicep parameter has a @description', () => {
    for (const path of bicepFiles) {
      const lines = read(path).split('\n');
      lines.forEach((line, i) => {
        if (!/^param\s/.test(line)) return;
        const decorators: string[] = [];
        for (let j = i - 1; j >= 0 && lines[j]!.startsWith('@'); j--) decorators.push(lines[j]!);
        assert.ok(decorators.some((d) => d.startsWith('@description(')), `${path}:${i + 1} ${line}`);
      });
    }
  });

  test('every role assignment is named guid(scope, principal, role)', () => {
    for (const path of bicepFiles) {
      const text = read(path);
      for (const m of text.matchAll(/'Microsoft\.Authorization\/roleAssignments@[^']+'[^{]*\{\s*\n\s*name: ([^\n]+)/g)) {
        assert.match(m[1]!, /^guid\([^,]+\.id, [^,]+, [^)]+\)$/, `${path}: ${m[1]}`);
      }
    }
  });

  test('registry modules are Azure Verified Modules pinned to an exact version', () => {
    const refsFound = bicepFiles.flatMap((p) => [...read(p).matchAll(/'(br\/public:[^']+)'/g)].map((m) => m[1]!));
    assert.ok(refsFound.length >= 6);
    for (const ref of refsFound) assert.match(ref, /^br\/public:avm\/res\/[a-z-]+\/[a-z-]+:\d+\.\d+\.\d+$/);
  });
});

describe('monitoring queries', () => {
  const queries = filesUnder('infra/app/queries', '.kql').map((p) => ({ path: p, text: read(p).trimEnd() }));
  const monitoringDoc = read('docs/monitoring.md');

  test('the workbook embeds the query files verbatim', () => {
    interface Workbook { items: { name: string; content: { query?: string } }[] }
    const workbook = readJson<Workbook>('infra/app/workbook.json');
    const embedded = workbook.items.filter((i) => i.content.query !== undefined);
    assert.equal(embedded.length, 4);
    for (const item of embedded) {
      assert.equal(item.content.query, read(`infra/app/queries/${item.name}.kql`).trimEnd(), `${item.name}: run node infra/app/build-workbook.mjs`);
    }
  });

  test('the alert runs the alert query, and docs/monitoring.md shows every query as deployed', () => {
    assert.match(read('infra/app/alerts.bicep'), /loadTextContent\('queries\/alert-failed-or-late\.kql'\)/);
    for (const { path, text } of queries) assert.ok(monitoringDoc.includes(text), `${path} differs from docs/monitoring.md`);
  });
});
