/** Types of buildConsole.mjs, for the TypeScript scripts and tests that build the console. */
export declare const CONSOLE_OUT: string;
export declare function buildConsole(outDir?: string): Promise<{ dir: string; script: string; style: string }>;
