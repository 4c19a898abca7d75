/**
 * The Python package (clients/python, `gradient_lab`) against the real server: this starts
 * src/server.ts on a temporary SQLite DATA_DIR, a free port and an API key, then runs the
 * package's own tests with Debian's pytest (/usr/bin/python3 -m pytest clients/python/tests),
 * which use pandas and websockets. Skips, saying which, when one of them is missing (.ci/run
 * installs python3-pytest, python3-pandas and python3-websockets).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type ServerProcess, startServer } from './process.js';

const PYTHON = '/usr/bin/python3';
const missing = ['pytest', 'pandas', 'websockets'].filter(
  (module) => spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status !== 0,
);
const skipReason =
  missing.length > 0
    ? `python-client.test.ts skipped: ${PYTHON} cannot import ${missing.join(', ')} (apt-get install ${missing.map((m) => `python3-${m}`).join(' ')})`
    : null;
if (skipReason) console.warn(skipReason);

describe.skipIf(skipReason !== null)('clients/python (gradient_lab) against a live server', () => {
  let server: ServerProcess;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gl-python-client-'));
    server = await startServer({ DATA_DIR: dataDir, API_KEYS: 'py-client-key' });
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('passes its pytest suite: a run, a sweep, streams cut and resumed, non-finite values in pandas, errors with field paths', () => {
    const run = spawnSync(PYTHON, ['-m', 'pytest', 'clients/python/tests', '-q', '-rs', '-p', 'no:cacheprovider'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 150_000,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PYTHONDONTWRITEBYTECODE: '1',
        GRADIENT_LAB_TEST_URL: server.url,
        GRADIENT_LAB_TEST_API_KEY: 'py-client-key',
      },
    });
    const output = `${run.stdout}${run.stderr}`;
    const summary = output.trim().split('\n').at(-1) ?? '';
    console.log(`pytest clients/python/tests: ${summary}`);
    if (run.status !== 0) console.log(output);
    expect(run.error).toBeUndefined();
    expect(run.status, output).toBe(0);
    // All of it ran: nothing skipped (a skip would mean the server or a module was not there).
    expect(summary).toMatch(/^\d+ passed in [\d.]+s$/);
    expect(Number(/^(\d+) passed/.exec(summary)![1])).toBeGreaterThanOrEqual(20);
  });

  // The README's and the package README's Python snippets, run as written (against this server).
  for (const doc of ['README.md', 'clients/python/README.md']) {
    it(`runs the Python snippets in ${doc}`, () => {
      const blocks = [...readFileSync(join(ROOT, doc), 'utf8').matchAll(/^( *)```python\n([\s\S]*?)^ *```$/gm)].map(
        ([, indent, body]) =>
          body!
            .split('\n')
            .map((line) => line.slice(indent!.length))
            .join('\n'),
      );
      expect(blocks.length).toBeGreaterThan(0);
      for (const block of blocks) {
        const run = spawnSync(PYTHON, ['-c', block.replaceAll('http://localhost:8080', server.url)], {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 90_000,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '',
            PYTHONPATH: join(ROOT, 'clients/python/src'),
            PYTHONDONTWRITEBYTECODE: '1',
            GRADIENT_LAB_API_KEY: 'py-client-key',
          },
        });
        expect(run.stderr, block).toBe('');
        expect(run.status, block).toBe(0);
      }
    });
  }
});
