import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SweepRequest } from '../../src/contract/sweep.js';
import { cellSpec, cellValues } from '../../src/runtime/sweep/expand.js';
import { cellWithJob, pendingCell, toCsv } from '../../src/runtime/sweep/grid.js';
import { predictCell } from '../../src/runtime/sweep/theory.js';

const request = SweepRequest.parse({
  base: { network: { kind: 'linear', depth: 3, width: 2, init: { scheme: 'scaled-identity', gain: 1 } } },
  axes: [
    { path: 'network.init.gain', values: [0.5, 1.5], labels: ['half', 'one and a half'] },
    { path: 'mitigations', values: [[], [{ kind: 'clip-norm', maxNorm: 1 }]], labels: ['none', 'clip, norm 1'] },
  ],
});

function cells() {
  const out = [0, 1, 2, 3].map((i) => pendingCell(i, cellValues(request, i), predictCell(cellSpec(request, i))));
  const summary = {
    outcome: 'nonfinite' as const,
    gradients: { verdict: 'exploding' as const, backwardGain: 2.25, normGrowth: 'Infinity' as const },
    training: { verdict: 'nonfinite' as const, lossRatio: 'NaN' as const },
    mitigation: { clipping: null },
    stepsRun: 3,
    stopped: true,
    firstNonFiniteStep: 3,
    nonFinite: null,
    maxGradNorm: 'Infinity' as const,
    minGradNorm: 0.25,
    firstLoss: 1e-7,
    finalLoss: 'NaN' as const,
    baselineLoss: 0.5,
    layerGradRatio: '-Infinity' as const,
    backwardGain: 2.25,
    predictedForwardGain: 3.375,
    predictedLayerGradFactor: 2.25,
  };
  out[2] = cellWithJob(out[2], { id: 'job2', status: 'succeeded', summary });
  return out;
}

const pythonHasPandas = spawnSync('/usr/bin/python3', ['-c', 'import pandas'], { encoding: 'utf8' }).status === 0;

describe('grid CSV', () => {
  it('has one column per axis, one row per cell, non-finite numbers as NaN/Infinity/-Infinity, missing values empty', () => {
    // Cells as read back from a store hold copies of the axis values: labels still apply.
    const csv = toCsv(request, structuredClone(cells()));
    const lines = csv.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe(
      'network.init.gain,network.init.gain.label,mitigations,mitigations.label,index,jobId,status,outcome,firstNonFiniteStep,firstLoss,finalLoss,maxGradNorm,layerGradRatio,backwardGain,predictedLayerGradFactor,predictedChi1,predictedDepthScale,predictedLambda1,predictedBackwardGainBound',
    );
    // A labelled axis keeps its values in the path's column (numbers stay numbers; structured values
    // are JSON) and its labels in the `.label` column beside it.
    expect(lines[1]).toBe('0.5,half,[],none,0,,pending,,,,,,,,0.25,,,,');
    expect(lines[3]).toBe(
      '1.5,one and a half,[],none,2,job2,succeeded,nonfinite,3,1e-7,NaN,Infinity,-Infinity,2.25,2.25,,,,',
    );
    expect(lines[4]).toBe(
      '1.5,one and a half,"[{""kind"":""clip-norm"",""maxNorm"":1}]","clip, norm 1",3,,pending,,,,,,,,2.25,,,,',
    );
  });

  it.skipIf(!pythonHasPandas)('reads back with pandas.read_csv defaults: floats, NaN, ±inf', () => {
    const script = [
      'import sys, io, json, pandas',
      'df = pandas.read_csv(io.StringIO(sys.stdin.read()))',
      'r = df.iloc[2]',
      'print(json.dumps({"dtypes": {c: str(df[c].dtype) for c in ["finalLoss", "maxGradNorm", "layerGradRatio", "firstLoss"]},',
      '  "values": [repr(r["finalLoss"]), repr(r["maxGradNorm"]), repr(r["layerGradRatio"]), repr(r["firstLoss"])],',
      '  "labels": list(df["mitigations.label"]), "mitigations": list(df["mitigations"]),',
      '  "gainType": str(df["network.init.gain"].dtype), "gainLabels": list(df["network.init.gain.label"]),',
      '  "gain": list(df["network.init.gain"])}))',
    ].join('\n');
    const out = spawnSync('/usr/bin/python3', ['-c', script], { input: toCsv(request, cells()), encoding: 'utf8' });
    expect(out.stderr).toBe('');
    const parsed = JSON.parse(out.stdout);
    expect(parsed.dtypes).toEqual({
      finalLoss: 'float64',
      maxGradNorm: 'float64',
      layerGradRatio: 'float64',
      firstLoss: 'float64',
    });
    expect(parsed.values).toEqual(['nan', 'inf', '-inf', '1e-07']);
    expect(parsed.labels).toEqual(['none', 'clip, norm 1', 'none', 'clip, norm 1']);
    expect(parsed.gain).toEqual([0.5, 0.5, 1.5, 1.5]);
    expect(parsed.gainType).toBe('float64');
    expect(parsed.gainLabels).toEqual(['half', 'half', 'one and a half', 'one and a half']);
    expect(JSON.parse(parsed.mitigations[1])).toEqual([{ kind: 'clip-norm', maxNorm: 1 }]);
  });
  if (!pythonHasPandas)
    console.warn(
      'grid CSV: /usr/bin/python3 has no pandas (apt-get install python3-pandas); pandas round trip skipped',
    );
});

describe('axis labels stay labels', () => {
  it('the He 2015 preset: network.init.gain holds the gains, the labels have their own column', async () => {
    const { sweepPresets } = await import('../../src/contract/sweep-presets.js');
    const he = SweepRequest.parse(sweepPresets.find((p) => p.id === 'sweep-he-2015')!.request);
    const rows = [0, 1].map((i) => pendingCell(i, cellValues(he, i), predictCell(cellSpec(he, i))));
    const lines = toCsv(he, rows).trimEnd().split('\n');
    expect(lines[0].startsWith('network.init.gain,network.init.gain.label,index,')).toBe(true);
    expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual([Math.SQRT1_2, 1]);
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(['std sqrt(1/fanIn)', 'std sqrt(2/fanIn)']);
  });
});
