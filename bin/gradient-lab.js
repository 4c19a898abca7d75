#!/usr/bin/env node
// Runs the CLI from the TypeScript sources in a checkout (through tsx), or from dist/ in a built
// image where the sources are absent.
import { existsSync } from 'node:fs';

const src = new URL('../src/cli.ts', import.meta.url);
if (existsSync(src)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(src.href);
} else {
  await import(new URL('../dist/cli.js', import.meta.url).href);
}
