/**
 * Provisioning twice keeps everything. `Microsoft.Web/sites/config 'appsettings'` replaces the
 * Function App's whole settings collection at each deployment, so a setting a person adds by hand
 * (`az functionapp config appsettings set`, the Portal) is gone after the next `azd provision`.
 * Every setting the docs ask someone to put on the app must therefore be produced by the Bicep —
 * and every `azd env set` the docs give must reach the Bicep through infra/main.parameters.json.
 * The docs are read as a user would follow them: every Markdown file of the repository.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

function markdownFiles(dir = ''): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) return [];
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [relative(root, join(root, path))] : [];
  });
}

interface Instruction {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  /** App settings it puts on the Function App. */
  readonly settings: readonly string[];
}

const SETTING = /^[A-Z][A-Za-z0-9_]*$/;

/** Shell commands of a Markdown file with `\` continuations joined, and where each starts. */
function commands(text: string): { line: number; text: string }[] {
  const lines = text.split('\n');
  const out: { line: number; text: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    let command = lines[i] ?? '';
    const start = i;
    while (command.trimEnd().endsWith('\\') && i + 1 < lines.length) command = command.trimEnd().slice(0, -1) + ' ' + (lines[++i] ?? '').trim();
    out.push({ line: start + 1, text: command });
  }
  return out;
}

/** Names in `--settings A=1 "B=@Microsoft.KeyVault(...)"` (and `--slot-settings`). */
function settingsArguments(command: string): string[] {
  const names: string[] = [];
  const args = command.match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
  let inSettings = false;
  for (const raw of args) {
    if (raw.startsWith('--')) {
      inSettings = raw === '--settings' || raw === '--slot-settings';
      continue;
    }
    if (!inSettings) continue;
    const name = raw.replace(/^["']/, '').split('=')[0] ?? '';
    if (SETTING.test(name)) names.push(name);
  }
  return names;
}

/** What the docs tell a person to do to the Function App's settings by hand. */
function manualSettingInstructions(): Instruction[] {
  const found: Instruction[] = [];
  for (const file of markdownFiles()) {
    const text = read(file);
    for (const command of commands(text)) {
      const az = /\baz\s+(functionapp|webapp)\s+(.*)$/.exec(command.text);
      if (az && /\bconfig\s+(appsettings|connection-string)\s+set\b/.test(az[2] ?? '')) {
        found.push({ file, line: command.line, text: command.text.trim(), settings: settingsArguments(command.text) });
      } else if (az && /^(config\s+set|auth\b|cors\s+add)/.test(az[2] ?? '')) {
        // Site configuration the Bicep owns too (authsettingsV2, siteConfig): also undone by provisioning.
        found.push({ file, line: command.line, text: command.text.trim(), settings: [`(${az[1] ?? ''} ${(az[2] ?? '').split(/\s+/).slice(0, 2).join(' ')})`] });
      }
    }
    // Prose: "set `NAME` to …" and "`NAME=@Microsoft.KeyVault(…)`" (a reference written by hand).
    const prose = text.replace(/\s+/g, ' ');
    for (const m of prose.matchAll(/\bset (?:the (?:app )?setting )?`([A-Z][A-Za-z0-9_]*)`/g)) {
      found.push({ file, line: lineOf(text, m[1] ?? ''), text: m[0], settings: [m[1] ?? ''] });
    }
    for (const m of prose.matchAll(/`([A-Z][A-Za-z0-9_]*)=@Microsoft\.KeyVault\(/g)) {
      found.push({ file, line: lineOf(text, m[0]), text: m[0], settings: [m[1] ?? ''] });
    }
  }
  return found;
}

function lineOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  return at === -1 ? 0 : text.slice(0, at).split('\n').length;
}

/** Setting names the Function App's Bicep writes into its appsettings (keys of its settings objects). */
function settingsProducedByBicep(): Set<string> {
  const bicep = read('infra/app/functionApp.bicep');
  return new Set([...bicep.matchAll(/^\s*([A-Z][A-Za-z0-9_]*)\s*:/gm)].map((m) => m[1] ?? ''));
}

/** azd's own environment values, which azd sets itself (Azure/azure-dev, the provisioning manager). */
const AZD_OWN = new Set(['AZURE_ENV_NAME', 'AZURE_LOCATION', 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_PRINCIPAL_ID', 'AZURE_PRINCIPAL_TYPE']);

describe('settings survive azd provision', () => {
  test('every app setting the docs ask a person to set on the Function App is produced by the Bicep', () => {
    const produced = settingsProducedByBicep();
    const instructions = manualSettingInstructions();
    const lost = instructions.flatMap((i) => i.settings.filter((name) => !produced.has(name)).map((name) => `${i.file}:${i.line} ${name} — ${i.text}`));
    assert.deepEqual(lost, [], 'produce these in infra/app/functionApp.bicep (from a parameter, a resource id or a Key Vault reference), not by hand');
  });

  test('every azd env set the docs give reaches the Bicep through main.parameters.json', () => {
    const parameters = read('infra/main.parameters.json');
    const missing: string[] = [];
    for (const file of markdownFiles()) {
      for (const m of read(file).matchAll(/\bazd env set ([A-Z][A-Z0-9_]*)/g)) {
        const name = m[1] ?? '';
        if (!AZD_OWN.has(name) && !parameters.includes(`\${${name}}`) && !parameters.includes(`\${${name}=`)) missing.push(`${file}: ${name}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('sign-in\'s client secret is a Key Vault reference the app\'s own identity resolves; the Portal link is computed from the resource id', () => {
    const app = read('infra/app/functionApp.bicep');
    const has = (pattern: RegExp, text: string, what: string): void => assert.ok(pattern.test(text), what);
    has(/MICROSOFT_PROVIDER_AUTHENTICATION_SECRET: '@Microsoft\.KeyVault\(SecretUri=\$\{keyVaultUri\}secrets\/\$\{authClientSecretName\}\/\)'/, app, 'functionApp.bicep: the sign-in secret setting is a Key Vault reference');
    // A user-assigned identity resolves references only when named (the default is the system identity, which this app has not).
    has(/^\s*keyVaultReferenceIdentity: identityResourceId$/m, app, 'functionApp.bicep: keyVaultReferenceIdentity names the app identity');
    has(/type: 'UserAssigned'/, app, 'functionApp.bicep: the app runs as the user-assigned identity');
    has(/roles\.keyVaultSecretsUser/, read('infra/app/rbac.bicep'), 'rbac.bicep: the identity may read secrets');
    has(/APPLICATIONINSIGHTS_PORTAL_URL: '\$\{environment\(\)\.portal\}\/#@\$\{tenant\(\)\.tenantId\}\/resource\$\{applicationInsightsResourceId\}'/, app, 'functionApp.bicep: the Portal URL is computed from the component id');
    // Easy Auth reads the secret from the setting auth.bicep names.
    has(/clientSecretSettingName string = 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'/, read('infra/app/auth.bicep'), 'auth.bicep names the setting');
  });
});
