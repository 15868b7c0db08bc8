/** The CLI run in-process against an app, as a user would type it: its output lines and exit code. */
import { buildProgram } from '../../src/cli/main';
import { FUNCTION_KEY } from './appHarness';

export async function runCli(baseUrl: string, ...args: string[]): Promise<{ out: string; code: number }> {
  const lines: string[] = [];
  let code = 0;
  try {
    await buildProgram((l) => lines.push(l), (c) => (code = c)).parseAsync(['node', 'durable-pipelines', '--url', baseUrl, '--key', FUNCTION_KEY, ...args]);
  } catch (error) {
    // A CliError: main() prints it and exits with its code.
    lines.push((error as Error).message);
    code = (error as { exitCode?: number }).exitCode ?? 1;
  }
  return { out: lines.join('\n'), code };
}
