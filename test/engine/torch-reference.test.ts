// The engine against PyTorch 1.13 autograd in float64 on small explicit jobs. The expected numbers
// were computed by bench/python/reference.py --crosscheck and committed in
// test/fixtures/torch-reference.json (with the PyTorch version), so this runs without Python.
// Tolerance: 1e-10 relative — both sides are float64, and their summation orders differ only at
// the level of a few ulps (~1e-16), amplified at most by the few steps run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JobSpec } from '../../src/contract/spec.js';
import { type Backend, checkSpec, simulate, tsBackend } from '../../src/engine/index.js';
import { createWasmBackend } from '../../src/engine/wasm/index.js';

interface Case {
  name: string;
  spec: unknown;
  expected: { loss: number[]; gradNorm: number[]; clippedGradNorm: number[]; layerGradNorm: number[][] };
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/torch-reference.json', import.meta.url), 'utf8')) as {
  cases: Case[];
};

const REL = 1e-10;

function expectClose(got: ArrayLike<number>, want: number[], what: string) {
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    expect(err, `${what}[step ${i + 1}]: got ${got[i]}, PyTorch ${want[i]}`).toBeLessThanOrEqual(
      REL * Math.abs(want[i]),
    );
  }
}

const backends: [string, () => Backend][] = [
  ['ts', () => tsBackend],
  ['wasm', () => createWasmBackend({ minWork: 0 })],
];

describe('engine vs PyTorch (float64)', () => {
  it('has the cases it was generated with', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(6);
  });

  for (const c of fixture.cases) {
    it.each(backends)(`${c.name} (%s backend)`, (_, backend) => {
      const spec = JobSpec.parse(c.spec);
      expect(checkSpec(spec)).toEqual([]);
      const { series } = simulate(spec, {}, { backend: backend() });
      const steps = c.expected.loss.length;
      expect(series.length).toBe(steps);
      expectClose(series.loss, c.expected.loss, 'loss');
      expectClose(series.gradNorm, c.expected.gradNorm, 'gradNorm');
      expectClose(series.clippedGradNorm, c.expected.clippedGradNorm, 'clippedGradNorm');
      expect(series.layerGradNorm.length).toBe(c.expected.layerGradNorm.length);
      c.expected.layerGradNorm.forEach((col, l) => {
        expectClose(series.layerGradNorm[l], col, `${series.layerNames[l]} gradNorm`);
      });
    });
  }
});
