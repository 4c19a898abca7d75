import { describe, expect, it } from 'vitest';
import { JobSpec } from '../../src/contract/spec.js';
import { SweepRequest, type SweepRequestInput } from '../../src/contract/sweep.js';
import { estimateWork } from '../../src/engine/index.js';
import { cellCoordinates, cellSpec, cellValues, expandSweep } from '../../src/runtime/sweep/expand.js';

const base = {
  seed: 7,
  network: { kind: 'linear', depth: 3, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
  training: { steps: 5 },
} as const;

function request(axes: SweepRequestInput['axes'], b: object = base): SweepRequest {
  return SweepRequest.parse({ base: b, axes });
}

function refusal(fn: () => unknown): {
  code: string;
  message: string;
  errors: { path: string; message: string }[];
} {
  try {
    fn();
  } catch (err) {
    return err as never;
  }
  throw new Error('expected a refusal');
}

describe('expandSweep', () => {
  it('lays cells out row-major (last axis fastest), every cell with the base seed', () => {
    const r = request([
      { path: 'network.init.gain', values: [0.5, 1, 1.5] },
      { path: 'network.depth', values: [2, 4] },
    ]);
    const { shape, total } = expandSweep(r);
    expect(shape).toEqual([3, 2]);
    expect(total).toBe(6);
    expect([0, 1, 2, 3, 4, 5].map((i) => cellValues(r, i))).toEqual([
      [0.5, 2],
      [0.5, 4],
      [1, 2],
      [1, 4],
      [1.5, 2],
      [1.5, 4],
    ]);
    expect(cellCoordinates([3, 2], 5)).toEqual([2, 1]);
    for (let i = 0; i < total; i++) {
      const spec = cellSpec(r, i);
      expect(spec.seed).toBe(7);
      const [gain, depth] = cellValues(r, i);
      expect(spec.network).toMatchObject({ depth, init: { scheme: 'scaled-identity', gain } });
      // Everything but the axes is the base: the cell re-parses to itself.
      expect(JobSpec.parse(spec)).toEqual(spec);
    }
  });

  it('sets whole objects and array elements (mitigations, mitigations.0.maxNorm)', () => {
    const r = request([{ path: 'mitigations', values: [[], [{ kind: 'clip-norm', maxNorm: 1 }]] }]);
    expect(cellSpec(r, 1).mitigations).toEqual([{ kind: 'clip-norm', maxNorm: 1 }]);
    const r2 = request([{ path: 'mitigations.0.maxNorm', values: [0.5, 2] }], {
      ...base,
      mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
    });
    expect(cellSpec(r2, 1).mitigations[0]).toEqual({ kind: 'clip-norm', maxNorm: 2 });
    expect(r2.base.mitigations[0]).toEqual({ kind: 'clip-norm', maxNorm: 1 });
  });

  it('refuses a path that names no field of the schema (422 naming the axis)', () => {
    const e = refusal(() => expandSweep(request([{ path: 'network.init.gian', values: [1] }])));
    expect(e.code).toBe('GL_ERR_SWEEP_INVALID');
    expect(e.errors).toEqual([
      { path: 'axes.0.path', message: expect.stringContaining('network.init.gian does not exist') },
    ]);
    // A field of another init scheme does not exist under this one.
    const e2 = refusal(() => expandSweep(request([{ path: 'network.init.std', values: [1] }])));
    expect(e2.errors[0].path).toBe('axes.0.path');
    const e3 = refusal(() => expandSweep(request([{ path: 'training.steps.value', values: [1] }])));
    expect(e3.errors[0]).toMatchObject({ path: 'axes.0.path', message: expect.stringContaining('not an object') });
    const e4 = refusal(() => expandSweep(request([{ path: 'mitigations.3.maxNorm', values: [1] }])));
    expect(e4.errors[0].message).toContain('past the end');
    const e5 = refusal(() => expandSweep(request([{ path: 'network.constructor', values: [1] }])));
    expect(e5.errors[0].path).toBe('axes.0.path');
  });

  it('refuses a value the schema refuses, naming the cell and the field', () => {
    const e = refusal(() =>
      expandSweep(
        request([
          { path: 'network.init.gain', values: [0.5, 1] },
          { path: 'network.depth', values: [2, 0, 3.5] },
        ]),
      ),
    );
    const paths = e.errors.map((x) => x.path);
    expect(paths).toEqual(['axes.1.values.1', 'axes.1.values.2']);
    expect(e.errors[0].message).toMatch(/^cell 1 \(network\.init\.gain=0\.5, network\.depth=0\): network\.depth: /);
    expect(e.message).toContain('cell 1');
  });

  it('refuses cells the engine cannot run (checkSpec), naming the cell', () => {
    const e = refusal(() =>
      expandSweep(
        request([{ path: 'mitigations', values: [[], [{ kind: 'batch-norm' }]] }], {
          seed: 1,
          network: { kind: 'rnn', hidden: 4 },
        }),
      ),
    );
    expect(e.errors).toEqual([
      { path: 'axes.0.values.1', message: expect.stringMatching(/^cell 1 \(mitigations=.*\): mitigations\.0: /) },
    ]);
  });

  it('refuses grids over the cell budget and over the work budget (sum of estimateWork flops)', () => {
    const values = Array.from({ length: 101 }, (_, i) => 1 + i / 100);
    const r = request([
      { path: 'network.init.gain', values },
      { path: 'seed', values: Array.from({ length: 100 }, (_, i) => i) },
    ]);
    const e = refusal(() => expandSweep(r));
    expect(e.errors[0]).toMatchObject({ path: 'axes', message: expect.stringContaining('10100 cells (101 × 100)') });
    expect(() => expandSweep(r, { maxCells: 20_000 })).not.toThrow();

    const small = request([{ path: 'network.depth', values: [1, 2, 3] }]);
    const sum = [1, 2, 3].reduce((s, _d, i) => s + estimateWork(cellSpec(small, i)).flops, 0);
    expect(expandSweep(small).totalFlops).toBe(sum);
    expect(() => expandSweep(small, { maxWorkFlops: sum })).not.toThrow();
    const e2 = refusal(() => expandSweep(small, { maxWorkFlops: sum - 1 }));
    expect(e2.errors[0].message).toContain('flops summed over 3 cells');
    const e3 = refusal(() => expandSweep(small, { maxCellFlops: estimateWork(cellSpec(small, 1)).flops }));
    expect(e3.errors[0].message).toMatch(/^cell 2 /);
  });

  it('refuses a grid whose cell specs add up to more JSON than the spec-bytes budget, before parsing any', () => {
    const inputs = Array.from({ length: 200 }, (_, i) => [i / 7, -i / 3]);
    const targets = inputs.map(([a, b]) => [a + b, a - b]);
    const r = request([{ path: 'seed', values: Array.from({ length: 200 }, (_, i) => i) }], {
      ...base,
      data: { kind: 'explicit', inputs, targets },
    });
    const perCell = JSON.stringify(r.base).length;
    const e = refusal(() => expandSweep(r, { maxSpecBytes: 100 * perCell }));
    expect(e.errors[0]).toMatchObject({ path: 'axes', message: expect.stringContaining('200 cells of ~') });
    expect(() => expandSweep(r, { maxSpecBytes: 300 * perCell })).not.toThrow();
  });

  it("does not parse the base's large arrays again per cell (issue 11, defect 2): cells share them, as parsed once", () => {
    const inputs = Array.from({ length: 2000 }, (_, i) => [i / 7, -i / 3]);
    const targets = inputs.map(([a, b]) => [a + b, a - b]);
    const r = request([{ path: 'training.learningRate', values: [0.001, 0.01, 0.1] }], {
      ...base,
      data: { kind: 'explicit', inputs, targets },
    });
    const specs: JobSpec[] = [];
    expandSweep(r, {}, (_, spec) => specs.push(spec));
    expect(specs).toHaveLength(3);
    for (const [i, spec] of specs.entries()) {
      // The very arrays of the parsed base: a zod parse would have made new ones.
      if (spec.data.kind !== 'explicit' || r.base.data.kind !== 'explicit') throw new Error('explicit data expected');
      expect(spec.data.inputs).toBe(r.base.data.inputs);
      expect(spec.data.targets).toBe(r.base.data.targets);
      // And the cell is exactly what a full parse of the same object gives.
      const full = JobSpec.parse({ ...r.base, training: { ...r.base.training, learningRate: [0.001, 0.01, 0.1][i] } });
      expect(spec).toEqual(full);
      expect(cellSpec(r, i)).toEqual(full);
    }
  });

  it('still refuses cells whose axis makes the untouched large arrays wrong, and parses an array an axis reaches into', () => {
    const inputs = Array.from({ length: 300 }, (_, i) => [i / 7, -i / 3]);
    const targets = inputs.map(([a, b]) => [a + b, a - b]);
    const data = { kind: 'explicit', inputs, targets };
    // width 2 → 3: the explicit data no longer fits the network (checkSpec sees the real arrays).
    const e = refusal(() => expandSweep(request([{ path: 'network.width', values: [2, 3] }], { ...base, data })));
    expect(e.errors.length).toBeGreaterThan(0);
    expect(e.errors[0].message).toMatch(/^cell 1 /);
    // An axis on one element: that array is parsed in full, so a bad value is refused by the schema.
    const e2 = refusal(() => expandSweep(request([{ path: 'data.inputs.5.0', values: [1, 'x'] }], { ...base, data })));
    expect(e2.errors[0].path).toBe('axes.0.values.1');
  });

  it('refuses duplicate axes and labels of the wrong length', () => {
    const e = refusal(() =>
      expandSweep(
        request([
          { path: 'seed', values: [1, 2], labels: ['a'] },
          { path: 'seed', values: [3] },
        ]),
      ),
    );
    expect(e.errors.map((x) => x.path)).toEqual(['axes.0.labels', 'axes.1.path']);
  });

  it('the request schema bounds axes and names the field', () => {
    const r = SweepRequest.safeParse({ base, axes: [] });
    expect(r.success).toBe(false);
    const r2 = SweepRequest.safeParse({ base, axes: [1, 2, 3, 4].map((i) => ({ path: 'seed', values: [i] })) });
    expect(r2.success).toBe(false);
    const r3 = SweepRequest.safeParse({ base, axes: [{ path: 'network..depth', values: [1] }] });
    expect(r3.success).toBe(false);
    if (!r3.success) expect(r3.error.issues[0].path).toEqual(['axes', 0, 'path']);
  });
});
