/**
 * examples/notebook.ipynb is not run in CI (it needs pandas and matplotlib), but it must stay a
 * valid nbformat 4 document whose code cells are valid Python, and it must use the endpoints and
 * CSV columns the service really has.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './process.js';

interface Cell {
  cell_type: string;
  id?: string;
  metadata: object;
  source: string[] | string;
  outputs?: unknown[];
  execution_count?: number | null;
}
const notebook = JSON.parse(readFileSync(join(ROOT, 'examples/notebook.ipynb'), 'utf8')) as {
  nbformat: number;
  nbformat_minor: number;
  metadata: { kernelspec?: { language?: string } };
  cells: Cell[];
};
const text = (c: Cell) => (Array.isArray(c.source) ? c.source.join('') : c.source);
const python = ['/usr/bin/python3', 'python3'].find(
  (candidate) => spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0,
);

describe('examples/notebook.ipynb', () => {
  it('is nbformat 4.5 with the fields every cell kind requires', () => {
    expect(notebook.nbformat).toBe(4);
    expect(notebook.nbformat_minor).toBeGreaterThanOrEqual(5);
    expect(notebook.metadata.kernelspec?.language).toBe('python');
    const ids = new Set<string>();
    for (const cell of notebook.cells) {
      expect(['markdown', 'code']).toContain(cell.cell_type);
      expect(cell.id).toMatch(/^[A-Za-z0-9-_]{1,64}$/);
      ids.add(cell.id!);
      expect(cell.metadata).toBeTypeOf('object');
      if (cell.cell_type === 'code') {
        expect(cell.outputs).toEqual([]);
        expect(cell.execution_count).toBeNull();
      }
    }
    expect(ids.size).toBe(notebook.cells.length);
  });

  it('uses the presets, NDJSON events and CSV result endpoints, and plots per-layer norms', () => {
    const code = notebook.cells
      .filter((c) => c.cell_type === 'code')
      .map(text)
      .join('\n');
    expect(code).toContain('/v1/presets');
    expect(code).toContain('/events?from=0');
    expect(code).toContain('/result?format=csv');
    expect(code).toContain('.gradNorm');
    expect(code).toMatch(/import pandas|import matplotlib/);
  });

  it.skipIf(!python)('has code cells that compile as Python', () => {
    const cells = notebook.cells.filter((c) => c.cell_type === 'code').map(text);
    const run = spawnSync(
      python!,
      ['-c', 'import json, sys\nfor i, src in enumerate(json.load(sys.stdin)): compile(src, f"cell {i}", "exec")'],
      { input: JSON.stringify(cells), encoding: 'utf8' },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
