/**
 * Record layouts through the worker protocol: rnn hidden-state norms, layers off, record.every.
 * The runtime's events and result must equal what the engine gives in-process for the same spec
 * (runs are deterministic), so the flat-row transport and columnar store lose nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { JobSpec, type JobSpecInput } from '../../src/contract/spec.js';
import { seriesToJson, simulate, stepEventAt } from '../../src/engine/index.js';
import { collect, Fixture, jsonResult } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

const cases: [string, JobSpecInput][] = [
  [
    'rnn with hidden-state norms',
    {
      network: { kind: 'rnn', hidden: 4, seqLength: 6, inputDim: 2, outputDim: 1 },
      data: { kind: 'synthetic', samples: 16 },
      training: { steps: 30, batchSize: 8 },
      record: { hiddenGradNorms: true },
    },
  ],
  ['mlp without layer columns', { network: { kind: 'mlp', depth: 3, width: 4 }, record: { layers: false } }],
  [
    'linear recording every 7th step',
    { network: { kind: 'linear', depth: 5 }, training: { steps: 50 }, record: { every: 7 } },
  ],
];

describe('record layouts end to end', () => {
  it.each(cases)('%s: events and result equal the in-process engine run', async (_, input) => {
    const spec = JobSpec.parse(input);
    const reference = simulate(spec);
    const expected = Array.from({ length: reference.series.length }, (_, i) => ({
      ...stepEventAt(reference.series, i),
      seq: i,
    }));

    const rt = await fx.runtime({ dataDir: fx.tempDir(), workers: 1 });
    const job = await rt.submit(spec, null);
    const events = await collect(rt, job.id);
    expect(events.slice(0, -1)).toEqual(expected);
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'succeeded', summary: reference.summary });
    const result = (await jsonResult(rt, job.id, null))!;
    expect(result.series).toEqual(seriesToJson(reference.series));
    if (input.record?.hiddenGradNorms) expect(result.series.hiddenGradNorms?.[0]).toHaveLength(6);
  });
});
