/**
 * examples/notebook.ipynb is executed against a live server, as a reader would run it:
 * `jupyter nbconvert --to notebook --execute` with Debian's Jupyter (jupyter-nbconvert,
 * python3-ipykernel) and the kernel `python3` = /usr/bin/python3 (pandas, matplotlib). Its cells
 * assert every number its text states, so a sentence the data contradicts fails here. Skips,
 * saying why, where nbconvert or a module is missing (.ci/run installs them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type ServerProcess, startServer } from './process.js';

interface Output {
  output_type: string;
  ename?: string;
  evalue?: string;
  data?: Record<string, unknown>;
}
interface Cell {
  cell_type: string;
  id?: string;
  metadata: object;
  source: string[] | string;
  outputs?: Output[];
  execution_count?: number | null;
}
interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { name?: string; language?: string }; language_info?: { version?: string } };
  cells: Cell[];
}
const NOTEBOOK = join(ROOT, 'examples/notebook.ipynb');
const notebook = JSON.parse(readFileSync(NOTEBOOK, 'utf8')) as Notebook;
const text = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);
const code = notebook.cells.filter((c) => c.cell_type === 'code').map(text);

const PYTHON = '/usr/bin/python3';
const NBCONVERT = '/usr/bin/jupyter-nbconvert';
const ok = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const lacking = [
  ...(ok(NBCONVERT, ['--version']) ? [] : ['jupyter-nbconvert']),
  ...['ipykernel', 'pandas', 'matplotlib'].filter((m) => !ok(PYTHON, ['-c', `import ${m}`])).map((m) => `python3-${m}`),
];
const skipReason =
  lacking.length > 0 ? `notebook.test.ts: execution skipped, missing ${lacking.join(', ')} (apt-get install)` : null;
if (skipReason) console.warn(skipReason);

describe('examples/notebook.ipynb', () => {
  it('is nbformat 4.5 with ids, no outputs, and the python3 kernel', () => {
    expect(notebook.nbformat).toBe(4);
    expect(notebook.nbformat_minor).toBeGreaterThanOrEqual(5);
    expect(notebook.metadata.kernelspec).toMatchObject({ name: 'python3', language: 'python' });
    const ids = new Set<string>();
    for (const cell of notebook.cells) {
      expect(['markdown', 'code']).toContain(cell.cell_type);
      expect(cell.id).toMatch(/^[A-Za-z0-9-_]{1,64}$/);
      ids.add(cell.id!);
      if (cell.cell_type === 'code') {
        expect(cell.outputs).toEqual([]);
        expect(cell.execution_count).toBeNull();
      }
    }
    expect(ids.size).toBe(notebook.cells.length);
  });

  it('uses the gradient_lab package, and every decimal its text states is asserted by a cell', () => {
    const all = code.join('\n');
    expect(all).toContain('from gradient_lab import Client');
    expect(all).toMatch(/client\.events\(/);
    const asserts = all.split('\n').filter((l) => /^\s*assert\b/.test(l));
    const prose = notebook.cells.filter((c) => c.cell_type === 'markdown').map(text);
    const stated = new Set(prose.flatMap((p) => p.match(/\d+\.\d+/g) ?? []));
    expect(stated.size).toBeGreaterThan(0);
    for (const number of stated) {
      expect(
        asserts.some((l) => l.includes(number)),
        `the notebook's text states ${number}, but no assert checks it`,
      ).toBe(true);
    }
  });

  describe.skipIf(skipReason !== null)('executed with jupyter nbconvert against a live server', () => {
    let server: ServerProcess;
    let dataDir: string;
    let outDir: string;
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'gl-notebook-'));
      outDir = mkdtempSync(join(tmpdir(), 'gl-notebook-out-'));
      server = await startServer({ DATA_DIR: dataDir, API_KEYS: 'nb-key' });
    });
    afterAll(async () => {
      server?.child.kill('SIGTERM');
      await server?.exited;
      for (const dir of [dataDir, outDir]) if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('runs every cell without an error, on /usr/bin/python3, and draws its figures', () => {
      const run = spawnSync(
        NBCONVERT,
        [
          '--to',
          'notebook',
          '--execute',
          NOTEBOOK,
          '--output-dir',
          outDir,
          '--ExecutePreprocessor.kernel_name=python3',
          '--ExecutePreprocessor.timeout=120',
        ],
        {
          // The kernel starts in the notebook's directory, as in Jupyter, and finds the package
          // in clients/python/src from there (the notebook's first cell).
          cwd: join(ROOT, 'examples'),
          encoding: 'utf8',
          timeout: 170_000,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '',
            GRADIENT_LAB_URL: server.url,
            GRADIENT_LAB_API_KEY: 'nb-key',
            PYDEVD_DISABLE_FILE_VALIDATION: '1',
            PYTHONDONTWRITEBYTECODE: '1',
          },
        },
      );
      // On a failing assert nbconvert prints the cell and its traceback: show them.
      if (run.status !== 0) console.log(run.stdout, run.stderr);
      expect(run.error).toBeUndefined();
      expect(run.status, run.stderr).toBe(0);

      const executed = JSON.parse(readFileSync(join(outDir, 'notebook.ipynb'), 'utf8')) as Notebook;
      const version = spawnSync(PYTHON, ['-c', 'import platform; print(platform.python_version())'], {
        encoding: 'utf8',
      }).stdout.trim();
      expect(executed.metadata.language_info?.version).toBe(version);
      const cells = executed.cells.filter((c) => c.cell_type === 'code');
      expect(cells).toHaveLength(code.length);
      for (const cell of cells) {
        expect(cell.execution_count).toBeTypeOf('number');
        expect(cell.outputs!.filter((o) => o.output_type === 'error')).toEqual([]);
      }
      const figures = cells.flatMap((c) => c.outputs!).filter((o) => o.data?.['image/png'] !== undefined);
      expect(figures.length).toBeGreaterThanOrEqual(3);
    });
  });
});
