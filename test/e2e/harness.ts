/**
 * What every browser test needs: the real app listening on a real port, and Debian's Chromium
 * driven by playwright-core with the flags this machine needs (docs/design.md, "Known traps of the
 * stack"). Tests skip, saying why, where Chromium is missing; CI installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
export const SHOTS = path.resolve('test-output/screenshots');
export const TIMEOUT = 30_000;

/** Says, once per test file, why its browser tests are skipped. */
export function warnIfNoChromium(what: string): void {
  if (!haveChromium) console.warn(`[e2e] ${what} skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
}

export interface Harness {
  app: FastifyInstance;
  base: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  consoleErrors: string[];
  close(): Promise<void>;
}

/** Starts the app (in-memory store) on 127.0.0.1 and a headless Chromium with one page. */
export async function startHarness(
  env: Record<string, string> = {},
  contextOptions: { acceptDownloads?: boolean } = {},
): Promise<Harness> {
  mkdirSync(SHOTS, { recursive: true });
  const config = loadConfig({ DATA_DIR: ':memory:', WORKERS: '2', LOG_LEVEL: 'silent', HOST: '127.0.0.1', ...env });
  const app = await buildApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const userDir = mkdtempSync(path.join(os.tmpdir(), 'gl-chromium-'));
  const context = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 1000 },
    ...contextOptions,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  return {
    app,
    base: `http://127.0.0.1:${address.port}`,
    context,
    page,
    consoleErrors,
    async close() {
      await context.close();
      rmSync(userDir, { recursive: true, force: true });
      await app.close();
    },
  };
}
