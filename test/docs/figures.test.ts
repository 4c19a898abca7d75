/**
 * The README's and docs/presets.md's run-derived figures and the job-spec field table are what the
 * code produces now (scripts/figures.ts re-runs every preset through the engine and re-reads the
 * schema); a drift fails here. Also checks the generated field table against what zod really
 * fills in, so the generator itself cannot misreport a default.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIGURE_FILES, markedFigures, render, specFieldsTable } from '../../scripts/figures.js';
import { JobSpec } from '../../src/contract/spec.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

describe('run-derived figures in the docs', () => {
  it.each(FIGURE_FILES)(
    '%s holds exactly what scripts/figures.ts produces (npx tsx scripts/figures.ts)',
    (file) => {
      const text = read(file);
      expect(render(text)).toBe(text);
    },
    120_000,
  );

  it('every marked figure is a value (no claim about something the run did not do)', () => {
    for (const file of FIGURE_FILES) {
      const figures = markedFigures(read(file));
      if (file === 'docs/presets.md') expect(figures.length, file).toBeGreaterThan(10);
      for (const f of figures) expect(['–', 'NaN', ''], `${file}: ${f.key}`).not.toContain(f.text);
    }
  });

  it('the README carries the generated tables, not empty blocks', () => {
    const readme = read('README.md');
    for (const block of ['readme-presets', 'spec-fields']) {
      const m = readme.match(new RegExp(`<!--gen:${block}-->([\\s\\S]*?)<!--/gen-->`));
      expect(m, block).not.toBeNull();
      expect(m![1]!.trim().split('\n').length, block).toBeGreaterThan(5);
    }
  });
});

describe('the job-spec field table', () => {
  const rows = specFieldsTable()
    .split('\n')
    .slice(2)
    .map((line) => line.split(' | ').map((c) => c.replace(/^\| ?| ?\|$/g, '').trim()))
    .map(([field, when, required, def]) => ({
      field: field!.replace(/`/g, ''),
      when,
      required,
      def: def!.replace(/`/g, ''),
    }));

  it('says network is the one required top-level field', () => {
    const top = rows.filter((r) => !r.field.includes('.') && !r.field.includes('['));
    expect(top.filter((r) => r.required === '**yes**').map((r) => r.field)).toEqual(['network']);
    // And zod agrees: a body with only a network parses; one without does not.
    expect(JobSpec.safeParse({ network: { kind: 'linear', depth: 2 } }).success).toBe(true);
    expect(JobSpec.safeParse({}).success).toBe(false);
  });

  it('lists the defaults zod fills in (top level, data, training, record; network per kind)', () => {
    const parsed: Record<string, unknown> = {
      '': JobSpec.parse({ network: { kind: 'linear', depth: 2 } }),
      'kind linear': JobSpec.parse({ network: { kind: 'linear', depth: 2 } }),
      'kind mlp': JobSpec.parse({ network: { kind: 'mlp', depth: 2 } }),
      'kind rnn': JobSpec.parse({ network: { kind: 'rnn' } }),
      'kind linear, mlp': JobSpec.parse({ network: { kind: 'mlp', depth: 2 } }),
      'kind mlp, rnn': JobSpec.parse({ network: { kind: 'rnn' } }),
      'kind synthetic': JobSpec.parse({ network: { kind: 'linear', depth: 2 } }),
    };
    const valueAt = (obj: unknown, p: string) =>
      p.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
    let checked = 0;
    for (const r of rows) {
      if (!r.def || r.def.startsWith('{') || r.field.includes('[') || !(r.when! in parsed)) continue;
      expect(valueAt(parsed[r.when!], r.field), r.field).toEqual(JSON.parse(r.def));
      checked++;
    }
    expect(checked).toBeGreaterThan(15);
  });
});
