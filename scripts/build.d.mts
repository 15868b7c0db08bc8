/** Types of build.mjs, for the TypeScript benches that bundle the app the same way. */
import type { BuildOptions } from 'esbuild';

export declare const EXTERNAL: string[];
export declare const ENTRIES: Record<string, string>;
export declare const BUNDLE_OPTIONS: BuildOptions;
