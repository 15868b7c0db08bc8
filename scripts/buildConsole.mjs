// Builds the web console (src/console/web) into dist/console: content-hashed JS and CSS under
// assets/ (served immutable), an index.html that names them (served no-cache), and a brotli and a
// gzip copy of each text file next to it, so the app serves compressed bytes without compressing
// per request (src/console/serve.ts).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

export const CONSOLE_OUT = 'dist/console';

// Paths are the repository's, not the caller's working directory: `npm run dev` may be started
// from another folder (test/integration/devFirstHour.test.ts does).
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function buildConsole(out = CONSOLE_OUT) {
  const outDir = resolve(ROOT, out);
  const assets = join(outDir, 'assets');
  mkdirSync(assets, { recursive: true });
  const result = await build({
    entryPoints: { app: 'src/console/web/main.ts', style: 'src/console/web/style.css' },
    outdir: assets,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    platform: 'browser',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
  // The metafile names outputs relative to absWorkingDir.
  const outputs = Object.keys(result.metafile.outputs).map((f) => resolve(ROOT, f));
  const script = outputs.find((f) => f.endsWith('.js'));
  const style = outputs.find((f) => f.endsWith('.css'));
  if (!script || !style) throw new Error('console build produced no script or style');
  const index = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>durable-pipelines</title>
<link rel="stylesheet" href="/assets/${basename(style)}">
<script type="module" src="/assets/${basename(script)}"></script>
</head>
<body>
<div id="app"><noscript>The durable-pipelines console needs JavaScript; the CLI and /api/openapi.json work without it.</noscript></div>
</body>
</html>
`;
  writeFileSync(join(outDir, 'index.html'), index);
  for (const file of [...outputs, join(outDir, 'index.html')]) {
    const bytes = readFileSync(file);
    writeFileSync(`${file}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
  }
  return { dir: outDir, script, style };
}
