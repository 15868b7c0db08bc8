/**
 * What each deploy tool uploads from a folder, rebuilt the way the tool's own source builds it, so
 * a test can load the result in a fresh Node process (test/integration/deployArtifact.test.ts).
 *
 * - azd: Azure/azure-dev cli/azd/pkg/project/project_utils.go `createDeployableZip` walked by
 *   cli/azd/pkg/rzip/rzip.go (an excluded folder is skipped whole), remote-build rules from
 *   service_target_functionapp.go `resolveFunctionAppRemoteBuild`.
 * - Core Tools: Azure/azure-functions-core-tools src/Cli/func/Common/FileSystemHelpers.cs
 *   `GetLocalFiles` (and GitIgnoreParser.cs when the folder has a .funcignore, which the staged
 *   folder does not; see coreToolsUpload).
 */
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';

const FUNCIGNORE = '.funcignore';

/** The parts of an azure.yaml service that decide what azd uploads. */
export interface AzdService {
  project: string;
  language: string;
  host: string;
  dist?: string;
  remoteBuild?: boolean;
}

/** A .funcignore under git's rules, as azd reads it (UTF-8 BOM stripped, project_utils.go). */
export function readFuncignore(dir: string): Ignore | undefined {
  const path = join(dir, FUNCIGNORE);
  if (!existsSync(path)) return undefined;
  return ignore().add(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
}

/**
 * The remote-build decision azd makes for a JavaScript function app
 * (service_target_functionapp.go resolveFunctionAppRemoteBuild): it reads the .funcignore of the
 * *project* folder. Unset, remote build is on exactly when that file excludes node_modules; set,
 * it must agree with the file or azd refuses to deploy.
 */
export function azdRemoteBuild(projectDir: string, service: AzdService): boolean {
  const rules = readFuncignore(projectDir);
  if (!rules) return service.remoteBuild ?? true;
  const nodeModulesExcluded = rules.ignores('node_modules/');
  if (service.remoteBuild === undefined) return nodeModulesExcluded;
  if (service.remoteBuild !== nodeModulesExcluded) {
    throw new Error(`azd refuses remoteBuild: ${service.remoteBuild} when ${FUNCIGNORE} ${nodeModulesExcluded ? 'excludes' : 'keeps'} node_modules`);
  }
  return service.remoteBuild;
}

/**
 * Files (relative, '/'-separated) azd zips from `root`, the service's `dist` folder or, without
 * one, its project folder. The .funcignore is read from `root` itself; without one, a JavaScript
 * service drops every node_modules folder unless remoteBuild is explicitly false.
 */
export function azdUpload(root: string, service: AzdService): string[] {
  const rules = readFuncignore(root);
  const javascript = service.language === 'js' || service.language === 'ts';
  return walk(root, (rel, name, isDir) => {
    if (name === '.azure' && isDir) return false;
    if (name === FUNCIGNORE && !isDir) return false;
    if (service.host === 'function' && name === 'local.settings.json' && !isDir) return false;
    if (rules) return !rules.ignores(isDir ? `${rel}/` : rel);
    if (javascript && name === 'node_modules' && isDir) return service.remoteBuild === false;
    return true;
  });
}

/**
 * Files `func azure functionapp publish` uploads from `root`: everything but `.git` and `.vscode`
 * folders and `.funcignore`, `.gitignore`, `local.settings.json`, `project.lock.json` files, at
 * any depth and in any case (FileSystemHelpers.GetLocalFiles). Core Tools reads a .funcignore with
 * its own port of codemix/gitignore-parser, not git's rules; the staged folder has none, and this
 * model refuses a folder that has one rather than guess.
 */
export function coreToolsUpload(root: string): string[] {
  if (existsSync(join(root, FUNCIGNORE))) {
    throw new Error(`${root} has a ${FUNCIGNORE}: Core Tools' GitIgnoreParser semantics are not modelled here`);
  }
  const dirs = new Set(['.git', '.vscode']);
  const files = new Set(['.funcignore', '.gitignore', 'local.settings.json', 'project.lock.json']);
  return walk(root, (_rel, name, isDir) => !(isDir ? dirs : files).has(name.toLowerCase()));
}

/** Every file under `root` (relative, '/'-separated) whose path and parents `keep` accepts. */
export function walk(root: string, keep: (rel: string, name: string, isDir: boolean) => boolean = () => true): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path).split(sep).join('/');
      // rzip.go resolves symbolic links; so does statSync.
      const isDir = lstatSync(path).isSymbolicLink() ? statSync(path).isDirectory() : lstatSync(path).isDirectory();
      if (!keep(rel, name, isDir)) continue;
      if (isDir) visit(path);
      else out.push(rel);
    }
  };
  visit(root);
  return out;
}

/**
 * Recreates `files` from `from` under `to`: hard links where the file system allows (the upload of
 * the repository root is hundreds of megabytes), copies otherwise. Either way `to` holds real
 * files, so Node resolves nothing through a link back into the repository.
 */
export function materialize(from: string, files: readonly string[], to: string): void {
  for (const file of files) {
    const target = join(to, file);
    mkdirSync(dirname(target), { recursive: true });
    try {
      linkSync(join(from, file), target);
    } catch {
      copyFileSync(join(from, file), target);
    }
  }
}

/** Total bytes of `files` under `root`. */
export function totalBytes(root: string, files: readonly string[]): number {
  return files.reduce((sum, file) => sum + statSync(join(root, file)).size, 0);
}
