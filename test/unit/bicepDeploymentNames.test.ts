/**
 * Every module deployment that `azd provision` creates has a name no other deployment of the same
 * provision uses, and that name fits ARM's 64-character limit.
 *
 * Why: a Bicep `module` is a nested deployment in the resource group, named by its `name:`. When a
 * module and a module it calls share a name, ARM sees the inner deployment replace the outer one
 * while it is still running and answers `DeploymentActive` (Azure/bicep#10816,
 * Azure/bicep-registry-modules#3566); two modules with one name in the same resource group
 * overwrite each other's deployment record. Deployment names are 1-64 characters
 * (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftresources).
 *
 * There is no Bicep compiler on this machine, so the test reads the Bicep text: it follows
 * `module x '<local path>' = { name: … }` from infra/main.bicep through every local module and
 * resolves each name symbolically (`deployment().name` is the parent's resolved name,
 * `uniqueString(…)` is a 13-character hash of its resolved arguments). A `br/public:` Azure
 * Verified Module is a leaf: every deployment AVM nests inside itself is named from its own
 * deployment name (`'${uniqueString(deployment().name, location)}-…'`, and the telemetry
 * deployment `46d3xbcp.….${substring(uniqueString(deployment().name, location), 0, 4)}`; see
 * avm/res/key-vault/vault/main.bicep at tag avm/res/key-vault/vault/0.13.3 and
 * avm/res/storage/storage-account/main.bicep at 0.27.1), so it is unique when the module's name is.
 *
 * The second suite reads the same text for what azd and the Portal are handed: parameters azd maps,
 * the vault's recovery switch, the workbook's binding and the cost defaults.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const ARM_DEPLOYMENT_NAME_MAX = 64;
const UNIQUE_STRING_LENGTH = 13;
/** azd names the top deployment `<environment name>-<unix time>`; assume ARM's worst case. */
const ROOT = { name: '<root>', maxLength: ARM_DEPLOYMENT_NAME_MAX };

interface ResolvedName {
  name: string;
  /** Longest the name can be; Infinity when a part has no known bound (a parameter's value). */
  maxLength: number;
}

interface ModuleDeclaration {
  symbol: string;
  source: string;
  nameExpression: string;
  line: number;
}

interface Deployment extends ResolvedName {
  /** main.bicep:storage > app/storage.bicep:storage — the module chain that creates it. */
  chain: string;
  /** Scope expression when the module deploys elsewhere than its parent's resource group. */
  scope: string;
}

/** Removes string literals (and what they interpolate) so brackets inside them do not count. */
function withoutStrings(line: string): string {
  return line.replace(/'(?:\\.|[^'\\])*'/g, "''");
}

function bracketDelta(line: string): number {
  const code = withoutStrings(line).replace(/\/\/.*$/, '');
  return (code.match(/[{[(]/g)?.length ?? 0) - (code.match(/[}\])]/g)?.length ?? 0);
}

/** Module declarations of one Bicep file with the `name:` and `scope:` of each body's top level. */
function moduleDeclarations(text: string, path: string): (ModuleDeclaration & { scope: string })[] {
  const lines = text.split('\n');
  const found: (ModuleDeclaration & { scope: string })[] = [];
  lines.forEach((line, index) => {
    const header = /^module\s+(\w+)\s+'([^']+)'\s*=\s*(.*)$/.exec(line);
    if (!header) return;
    assert.ok(!/^\[\s*for\b/.test(header[3]!), `${path}:${index + 1}: module loops are not modelled by this test`);
    let depth = bracketDelta(line);
    let nameExpression: string | undefined;
    let scope = '';
    for (let i = index + 1; i < lines.length && depth > 0; i++) {
      const body = lines[i]!;
      if (depth === 1) {
        const name = /^\s*name:\s*(.+?)\s*$/.exec(body);
        if (name && nameExpression === undefined) nameExpression = name[1]!;
        const scoped = /^\s*scope:\s*(.+?)\s*$/.exec(body);
        if (scoped) scope = scoped[1]!;
      }
      depth += bracketDelta(body);
    }
    assert.ok(nameExpression !== undefined, `${path}:${index + 1}: module ${header[1]} has no name`);
    found.push({ symbol: header[1]!, source: header[2]!, nameExpression, line: index + 1, scope });
  });
  return found;
}

type NamePart = { literal: string } | { code: string };

/** Splits `'a${x}b'` into literal and interpolated parts; anything else is one interpolation. */
function nameParts(expression: string): NamePart[] {
  if (!/^'.*'$/.test(expression)) return [{ code: expression }];
  const body = expression.slice(1, -1);
  const parts: NamePart[] = [];
  let i = 0;
  while (i < body.length) {
    const start = body.indexOf('${', i);
    if (start < 0) {
      parts.push({ literal: body.slice(i) });
      break;
    }
    if (start > i) parts.push({ literal: body.slice(i, start) });
    let depth = 1;
    let end = start + 2;
    while (end < body.length && depth > 0) {
      if (body[end] === '{') depth++;
      if (body[end] === '}') depth--;
      end++;
    }
    parts.push({ code: body.slice(start + 2, end - 1) });
    i = end;
  }
  return parts;
}

/** Resolves one interpolated expression given the parent deployment's resolved name. */
function resolveCode(code: string, parent: ResolvedName): ResolvedName {
  const trimmed = code.trim();
  if (trimmed === 'deployment().name') return parent;
  const name = trimmed.replace(/deployment\(\)\.name/g, parent.name);
  if (/^uniqueString\(.*\)$/.test(trimmed)) return { name, maxLength: UNIQUE_STRING_LENGTH };
  return { name: `\${${name}}`, maxLength: Infinity };
}

function resolveName(expression: string, parent: ResolvedName): ResolvedName {
  const resolved = nameParts(expression).map((part) =>
    'literal' in part ? { name: part.literal, maxLength: part.literal.length } : resolveCode(part.code, parent),
  );
  return {
    name: resolved.map((r) => r.name).join(''),
    maxLength: resolved.reduce((sum, r) => sum + r.maxLength, 0),
  };
}

/** Every module deployment a template creates, following local module files. */
function deploymentsOf(file: string, parent: ResolvedName = ROOT, chain = '', scope = ''): Deployment[] {
  const path = relative(root, file);
  const declarations = moduleDeclarations(readFileSync(file, 'utf8'), path);
  return declarations.flatMap((module) => {
    const resolved = resolveName(module.nameExpression, parent);
    const link = `${chain}${chain ? ' > ' : ''}${path}:${module.line} ${module.symbol}`;
    const deployment: Deployment = { ...resolved, chain: link, scope: module.scope || scope };
    // Registry modules (br/public:…, br:…, ts:…) are leaves: see the header comment.
    if (/^(br|ts)[:/]/.test(module.source)) return [deployment];
    return [deployment, ...deploymentsOf(join(dirname(file), module.source), resolved, link, deployment.scope)];
  });
}

/** Pairs of deployments in one scope whose resolved names are equal. */
function repeatedNames(deployments: readonly Deployment[]): string[] {
  const seen = new Map<string, Deployment>();
  const repeats: string[] = [];
  for (const d of deployments) {
    const key = `${d.scope}\u0000${d.name}`;
    const first = seen.get(key);
    if (first) repeats.push(`"${d.name}": ${first.chain}  AND  ${d.chain}`);
    else seen.set(key, d);
  }
  return repeats;
}

describe('Bicep module deployment names', () => {
  const deployments = deploymentsOf(join(root, 'infra', 'main.bicep'));

  test('the walk reaches the wrapper modules and their AVM modules', () => {
    const chains = deployments.map((d) => d.chain).join('\n');
    for (const wrapper of ['identity', 'storage', 'keyVault', 'monitoring', 'functionApp']) {
      assert.match(chains, new RegExp(`main\\.bicep:\\d+ ${wrapper} > infra/app/\\w+\\.bicep:\\d+ \\w+`), wrapper);
    }
  });

  test('no two deployments of one provision share a name along any module chain', () => {
    assert.deepEqual(repeatedNames(deployments), []);
  });

  test('every deployment name fits ARM’s 64 characters even under a 64-character azd deployment', () => {
    const tooLong = deployments.filter((d) => d.maxLength > ARM_DEPLOYMENT_NAME_MAX).map((d) => `${d.chain}: ${d.name} (up to ${d.maxLength})`);
    assert.deepEqual(tooLong, []);
  });

  test('the check itself catches a child named like its parent and a name that grows past 64', () => {
    const parent = resolveName("'${uniqueString(deployment().name, location)}-storage'", ROOT);
    const sameAsParent = resolveName('deployment().name', parent);
    assert.equal(repeatedNames([
      { ...parent, chain: 'main:storage', scope: '' },
      { ...sameAsParent, chain: 'main:storage > storage:inner', scope: '' },
    ]).length, 1);
    assert.equal(resolveName("'${deployment().name}-keyVault'", ROOT).maxLength, ARM_DEPLOYMENT_NAME_MAX + '-keyVault'.length);
    assert.equal(resolveName("'${uniqueString(deployment().name)}-kv'", ROOT).maxLength, UNIQUE_STRING_LENGTH + 3);
  });
});

const readInfra = (path: string): string => readFileSync(join(root, 'infra', path), 'utf8');

/** The default of `param <name> <type> = <default>` in a Bicep file. */
function paramDefault(text: string, name: string): string | undefined {
  return new RegExp(`^param ${name} \\w+ = (.+)$`, 'm').exec(text)?.[1]?.trim();
}

/** The `key: value` lines of one module's params block. */
function moduleParams(text: string, symbol: string): Map<string, string> {
  const start = text.search(new RegExp(`^module ${symbol} `, 'm'));
  assert.ok(start >= 0, `module ${symbol}`);
  const block = text.slice(start, text.indexOf('\n}\n', start));
  return new Map([...block.matchAll(/^ {4}(\w+): (.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
}

describe('what azd and the Portal are handed', () => {
  const main = readInfra('main.bicep');
  const parameters = JSON.parse(readInfra('main.parameters.json')) as { parameters: Record<string, { value: string }> };

  test('every azd parameter names a main.bicep parameter, and principalType is azd\'s AZURE_PRINCIPAL_TYPE', () => {
    for (const name of Object.keys(parameters.parameters)) assert.match(main, new RegExp(`^param ${name} `, 'm'), name);
    // azd substitutes the signed-in principal's type, User or ServicePrincipal
    // (Azure/azure-dev cli/azd/pkg/infra/provisioning/bicep/bicep_provider.go, evalParamEnvSubst).
    assert.equal(parameters.parameters['principalType']?.value, '${AZURE_PRINCIPAL_TYPE}');
    assert.equal(moduleParams(main, 'rbac').get('secretsOfficerPrincipalType'), 'principalType');
  });

  test('a re-provision after azd down can recover the soft-deleted vault or take a new name', () => {
    assert.equal(paramDefault(main, 'keyVaultCreateMode'), "'default'");
    assert.match(main, /@allowed\(\['default', 'recover'\]\)\nparam keyVaultCreateMode /);
    const kv = moduleParams(main, 'keyVault');
    assert.equal(kv.get('createMode'), 'keyVaultCreateMode');
    assert.equal(kv.get('name'), "!empty(keyVaultName) ? keyVaultName : 'kv-${token}'");
    const wrapper = readInfra('app/keyVault.bicep');
    // AVM key-vault/vault 0.13.3 takes createMode 'default' | 'recover' (its main.bicep at that tag).
    assert.match(wrapper, /'br\/public:avm\/res\/key-vault\/vault:0\.13\.3'/);
    assert.match(wrapper, /^ {4}createMode: createMode$/m);
  });

  test('the workbook opens on the deployment\'s Application Insights from either Portal entry', () => {
    assert.equal(moduleParams(main, 'workbook').get('applicationInsightsResourceId'), 'monitoring.outputs.applicationInsightsResourceId');
    const workbook = readInfra('app/workbook.bicep');
    assert.match(workbook, /^ {4}sourceId: applicationInsightsResourceId$/m);
    assert.match(workbook, /fallbackResourceIds: \[applicationInsightsResourceId\]/);
  });

  test('the shipped defaults scale to zero on 2048 MB instances and create no container registry', () => {
    assert.equal(paramDefault(main, 'durableAlwaysReady'), '0');
    assert.equal(paramDefault(main, 'instanceMemoryMB'), '2048');
    assert.equal(paramDefault(main, 'dbtUsePrivateRegistry'), 'false');
    assert.equal(parameters.parameters['durableAlwaysReady']?.value, '${DURABLE_ALWAYS_READY=0}');
    assert.equal(parameters.parameters['instanceMemoryMB']?.value, '${INSTANCE_MEMORY_MB=2048}');
    assert.equal(parameters.parameters['dbtUsePrivateRegistry']?.value, '${DBT_USE_PRIVATE_REGISTRY=false}');
    const app = moduleParams(main, 'functionApp');
    assert.equal(app.get('durableAlwaysReady'), 'durableAlwaysReady');
    assert.equal(app.get('instanceMemoryMB'), 'instanceMemoryMB');
    assert.equal(moduleParams(main, 'dbtJob').get('usePrivateRegistry'), 'dbtUsePrivateRegistry');
    const job = readInfra('app/dbtJob.bicep');
    assert.match(job, /resource registry '[^']+' = if \(usePrivateRegistry\)/);
    assert.match(job, /command: runsPublicImage \? \['python', '-c', loadTextContent\('\.\.\/dbt-job\/entrypoint\.py'\)\] : null/);
  });

  test('location accepts only Flex Consumption regions', () => {
    const allowed = /@allowed\(\[\n((?: {2}'[a-z0-9]+'\n)+)\]\)\n@description\([^\n]*\)\n@metadata\(\{ azd: \{ type: 'location' \} \}\)\nparam location /.exec(main);
    assert.ok(allowed, 'location has an @allowed list');
    const regions = allowed[1]!.trim().split('\n').map((r) => r.trim().slice(1, -1));
    assert.ok(regions.includes('westeurope') && regions.includes('northeurope'));
    // West India has no Flex Consumption in Microsoft's azd Flex template list.
    assert.ok(!regions.includes('westindia'));
  });
});
