/**
 * The app with its built console, signed in through the emulated App Service sign-in, and one
 * Chromium page on it: what every console test in a real browser starts from. Registers its own
 * `before`/`after` in the calling `describe`; read `app` and `page` inside tests.
 */
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildConsole } from '../../scripts/buildConsole.mjs';
import type { EmulatedSignIn } from '../../scripts/signIn';
import { startApp, type AppHarness, type AppHarnessOptions } from './appHarness';
import { launchBrowser, type Browser } from './browser';

export interface ConsoleSession {
  readonly app: AppHarness;
  readonly page: Page;
  /** Script errors the page reported (a test asserts none). */
  readonly scriptErrors: string[];
}

export function useConsoleSession(signIn: EmulatedSignIn, options: Omit<AppHarnessOptions, 'platformPrincipal' | 'settings'>): ConsoleSession {
  const consoleDir = mkdtempSync(join(tmpdir(), 'dp-console-'));
  let app: AppHarness | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const scriptErrors: string[] = [];
  before(async () => {
    app = await startApp({ ...options, platformPrincipal: signIn.principal, settings: { ...signIn.settings, CONSOLE_DIR: (await buildConsole(consoleDir)).dir } });
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('pageerror', (error) => scriptErrors.push(error.message));
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(consoleDir, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the console session has not started (use it inside tests)');
    return value;
  };
  return {
    get app() {
      return started(app);
    },
    get page() {
      return started(page);
    },
    scriptErrors,
  };
}
