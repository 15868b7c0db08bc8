/**
 * What `npm run demo` and `npm run dev` tell a user when they cannot start: one clear message and an
 * exit code, never a stack trace for a mistake the user can fix (a busy port, an invalid definition).
 */
import { loadDefinitions } from '../pipelines/definitions';
import { PipelineValidationError } from '../pipelines/validate';
import { EXIT } from './exitCodes';
import { ConfigError, invalidSettingsMessage, settingsProblems } from '../config/config';

export interface StartupFailure {
  readonly message: string;
  readonly exitCode: number;
}

/** Exit code of a local host whose HTTP port is taken. */
export const EXIT_PORT_IN_USE = 10;

/** The definitions' problems, listed once, before anything starts; undefined when they are valid. */
export function invalidDefinitions(): StartupFailure | undefined {
  try {
    loadDefinitions();
    return undefined;
  } catch (error) {
    if (!(error instanceof PipelineValidationError)) throw error;
    return {
      message: `${error.message}\nFix the definition under src/pipelines/definitions/ and start again (\`npx durable-pipelines validate\` checks it without starting anything).`,
      exitCode: EXIT.invalid,
    };
  }
}

/** The settings' problems, listed once, before anything starts; undefined when they are valid. */
export function invalidSettings(fromFile: boolean, env: NodeJS.ProcessEnv = process.env): StartupFailure | undefined {
  const problems = settingsProblems(env);
  if (problems.length === 0) return undefined;
  return {
    message: `${invalidSettingsMessage(problems)}\nFix ${fromFile ? 'local.settings.json (Values) or ' : ''}the environment and start again (local.settings.sample.json explains each setting).`,
    exitCode: EXIT.invalid,
  };
}

/** A failure the user can act on, in words; undefined for anything else (a bug: show it whole). */
export function explainStartupFailure(error: unknown, port: string | number): StartupFailure | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return {
      message: `port ${port} is already in use (another npm run dev, npm run demo or func start?). Stop that process, or pick another port: PORT=7072 (npm run dev) or --port 7072 (npm run demo), then point the CLI at it with --url or DURABLE_PIPELINES_URL.`,
      exitCode: EXIT_PORT_IN_USE,
    };
  }
  if (code === 'EACCES') return { message: `not allowed to listen on port ${port}: pick a port above 1023.`, exitCode: EXIT_PORT_IN_USE };
  if (error instanceof PipelineValidationError) return invalidDefinitions() ?? { message: error.message, exitCode: EXIT.invalid };
  if (error instanceof ConfigError) return { message: error.message, exitCode: EXIT.invalid };
  return undefined;
}
