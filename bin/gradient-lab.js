#!/usr/bin/env node
// The `gradient-lab` command runs the compiled CLI, dist/cli.js (`npm run build` writes it; the
// container image and `npm start` build it too), which starts in a fraction of a second.
//
// In a checkout whose dist/ is missing, or older than a file under src/, it runs the TypeScript
// sources through tsx instead (a few seconds to start), so the command never runs stale code, and
// says once on a terminal how to make it fast. Without the sources and without dist/ it explains
// what to run.
import { existsSync, readdirSync, statSync } from 'node:fs';

const dist = new URL('../dist/cli.js', import.meta.url);
const srcDir = new URL('../src/', import.meta.url);
const src = new URL('../src/cli.ts', import.meta.url);

/** The newest modification time under src/ (0 when there are no sources). */
function newestSource() {
  if (!existsSync(src)) return 0;
  let newest = 0;
  for (const entry of readdirSync(srcDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const t = statSync(`${entry.parentPath}/${entry.name}`).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

const sources = newestSource();
const built = existsSync(dist) ? statSync(dist).mtimeMs : -1;

if (built >= 0 && built >= sources) {
  await import(dist.href);
} else if (sources > 0) {
  if (process.stderr.isTTY) {
    const why = built < 0 ? 'dist/ is not built' : 'dist/ is older than src/';
    process.stderr.write(`gradient-lab: ${why}; running the TypeScript sources through tsx (slow to start). `);
    process.stderr.write('Run "npm run build" for a fast start.\n');
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(src.href);
} else {
  process.stderr.write('gradient-lab: dist/cli.js is missing. Run "npm run build" in the package directory first.\n');
  process.exitCode = 2;
}
