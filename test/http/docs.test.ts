/**
 * The README documents every error code in src/errors.ts and every configuration variable.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvSchema } from '../../src/config.js';
import { errors } from '../../src/errors.js';
import { HTTP_PROBLEMS } from '../../src/http/problem.js';

const doc = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function tableRows(heading: string): string[][] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`README.md has no "## ${heading}" section`);
  return section
    .split('\n')
    .filter((l) => /^\|\s*`/.test(l))
    .map((l) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
}

describe('README.md', () => {
  it('lists every error code with its status', () => {
    const rows = new Map(tableRows('Errors').map(([code, status]) => [code!.replaceAll('`', ''), Number(status)]));
    for (const E of Object.values(errors)) {
      expect(rows.get(E.code), `${E.code} is not in the README's error table`).toBe(HTTP_PROBLEMS[E.code].status);
    }
    expect(rows.size).toBe(Object.keys(errors).length);
  });

  it('lists every configuration variable', () => {
    const vars = tableRows('Configuration').map(([name]) => name!.replaceAll('`', ''));
    expect(vars.sort()).toEqual(Object.keys(EnvSchema.shape).sort());
  });
});
