/**
 * The engine runs in every worker thread, so what it loads is what each worker pays for. It must
 * not load zod (or anything else of the service), directly or through a contract module: this
 * walks the value imports (not `import type`, which erase) from every file under src/engine and
 * fails on any path that reaches zod. It also keeps src/engine free of import cycles, type-only
 * ones included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENGINE = join(ROOT, 'src/engine');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** Static imports and re-exports; `import type …` / `export type …` are type-only (they erase). */
function importsOf(file: string): Import[] {
  const src = readFileSync(file, 'utf8');
  const out: Import[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of src.matchAll(re)) {
    if (m[5]) out.push({ specifier: m[5], typeOnly: false });
    else out.push({ specifier: m[4], typeOnly: m[2] !== undefined });
  }
  return out;
}

function resolveLocal(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  return resolve(dirname(from), specifier.replace(/\.js$/, '.ts'));
}

describe('what the engine loads', () => {
  const files = tsFiles(ENGINE);

  it('finds the engine files', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('never reaches zod (or any package but ml-matrix) through value imports', () => {
    const offending: string[] = [];
    const seen = new Set<string>();
    const walk = (file: string, path: string[]) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const imp of importsOf(file)) {
        if (imp.typeOnly) continue;
        const local = resolveLocal(file, imp.specifier);
        if (local === null) {
          if (imp.specifier !== 'ml-matrix') offending.push(`${[...path, imp.specifier].join(' → ')}`);
          continue;
        }
        walk(local, [...path, relative(ROOT, local)]);
      }
    };
    for (const f of files) walk(f, [relative(ROOT, f)]);
    expect(offending).toEqual([]);
    // The walk did leave the engine (into the zod-free contract helpers), so it follows imports.
    expect([...seen].some((f) => f.endsWith('src/contract/num.ts'))).toBe(true);
  });

  it('has no import cycle inside src/engine, counting type-only imports', () => {
    const graph = new Map<string, string[]>();
    for (const f of files) {
      graph.set(
        f,
        importsOf(f).flatMap((i) => {
          const p = resolveLocal(f, i.specifier);
          return p?.startsWith(ENGINE) ? [p] : [];
        }),
      );
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, stack: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(f)), f].map((p) => relative(ENGINE, p)).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const g of graph.get(f) ?? []) visit(g, [...stack, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
