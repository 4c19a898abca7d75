// "Did you mean …?" (src/suggest.ts): the distance, the threshold, and the field names and options
// read from the job-spec schema itself, through its discriminated unions.
import { describe, expect, it } from 'vitest';
import { JobSpec } from '../src/contract/spec.js';
import { SweepRequest } from '../src/contract/sweep.js';
import {
  allowedKeys,
  allowedValues,
  editDistance,
  fieldErrorsFromIssues,
  nearest,
  withSuggestions,
} from '../src/suggest.js';

function errorsFor(body: unknown) {
  const parsed = JobSpec.safeParse(body);
  expect(parsed.success).toBe(false);
  return withSuggestions(fieldErrorsFromIssues(parsed.error!.issues), JobSpec, body);
}

describe('editDistance (optimal string alignment)', () => {
  it('matches hand-counted distances', () => {
    // Levenshtein's classic: kitten → sitting is 3 (k→s, e→i, +g).
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
    // A swap of neighbours is one edit (plain Levenshtein counts 2).
    expect(editDistance('gian', 'gain')).toBe(1);
    expect(editDistance('depht', 'depth')).toBe(1);
    expect(editDistance('trainng', 'training')).toBe(1);
    // Symmetric.
    expect(editDistance('flaw', 'lawn')).toBe(editDistance('lawn', 'flaw'));
    expect(editDistance('flaw', 'lawn')).toBe(2);
  });
});

describe('nearest', () => {
  it('suggests within a third of the word, ignoring case; otherwise nothing', () => {
    expect(nearest('trainng', ['network', 'training', 'data'])).toBe('training');
    expect(nearest('learningrate', ['steps', 'learningRate'])).toBe('learningRate');
    expect(nearest('adm', ['sgd', 'momentum', 'adam'])).toBe('adam');
    // Three edits away from every candidate: no guess.
    expect(nearest('banana', ['network', 'training', 'data'])).toBeNull();
    expect(nearest('xyz', ['sgd', 'adam'])).toBeNull();
  });

  it('never compares a word whose length alone rules it out (a hostile 1 MB key costs nothing)', () => {
    const huge = 'x'.repeat(1_000_000);
    expect(nearest(huge, ['network', 'training'])).toBeNull();
    const body: Record<string, unknown> = { network: { kind: 'linear', depth: 2 } };
    for (let i = 0; i < 5000; i++) body[`trainng${i}`] = i;
    const parsed = JobSpec.safeParse(body);
    const errors = withSuggestions(fieldErrorsFromIssues(parsed.error!.issues), JobSpec, body);
    expect(errors).toHaveLength(5000);
    // Only the first MAX_SUGGESTIONS errors are looked at; the rest keep their plain message.
    expect(errors[4999]).toEqual({ path: 'trainng4999', message: 'unknown field' });
  });
});

describe('names and options read from the schema', () => {
  it('follows the discriminator: a linear network offers depth, an rnn hidden', () => {
    expect(allowedKeys(JobSpec, { network: { kind: 'linear' } }, ['network'])).toEqual([
      'kind',
      'depth',
      'width',
      'inputDim',
      'outputDim',
      'bias',
      'init',
    ]);
    expect(allowedKeys(JobSpec, { network: { kind: 'rnn' } }, ['network'])).toContain('hidden');
    expect(allowedKeys(JobSpec, { network: { kind: 'rnn' } }, ['network'])).not.toContain('depth');
    expect(allowedKeys(JobSpec, {}, [])).toEqual([
      'name',
      'seed',
      'network',
      'data',
      'training',
      'mitigations',
      'record',
    ]);
    // Into arrays and through a mitigation's kind.
    expect(allowedKeys(JobSpec, { mitigations: [{ kind: 'clip-norm' }] }, ['mitigations', 0])).toEqual([
      'kind',
      'maxNorm',
    ]);
  });

  it('offers an enum’s options, and every tag of a union whose tag matches none', () => {
    expect(allowedValues(JobSpec, {}, ['training', 'optimizer'])).toEqual(['sgd', 'momentum', 'adam']);
    expect(allowedValues(JobSpec, { network: { kind: 'lineer' } }, ['network', 'kind'])).toEqual([
      'linear',
      'mlp',
      'rnn',
    ]);
  });
});

describe('field errors with suggestions', () => {
  it('a misspelt top-level field', () => {
    expect(errorsFor({ network: { kind: 'linear', depth: 2 }, trainng: {} })).toEqual([
      { path: 'trainng', message: 'unknown field; did you mean "training"?' },
    ]);
  });

  it('misspelt fields and options deep in the spec, each on its own path', () => {
    const errors = errorsFor({
      network: { kind: 'linear', depht: 3, init: { scheme: 'scaled-identity', gian: 2 } },
      training: { optimizer: 'adm', learningrate: 0.1 },
      mitigations: [{ kind: 'clip-norm', maxNrom: 1 }],
    });
    const by = Object.fromEntries(errors.map((e) => [e.path, e.message]));
    expect(by['network.depht']).toBe('unknown field; did you mean "depth"?');
    expect(by['network.init.gian']).toBe('unknown field; did you mean "gain"?');
    expect(by['training.learningrate']).toBe('unknown field; did you mean "learningRate"?');
    expect(by['training.optimizer']).toMatch(/; did you mean "adam"\?$/);
    expect(by['mitigations.0.maxNrom']).toBe('unknown field; did you mean "maxNorm"?');
    // The missing field is still reported as such.
    expect(by['network.depth']).toMatch(/expected number/);
  });

  it('a misspelt discriminator, and no guess for a name that resembles nothing', () => {
    const errors = errorsFor({ network: { kind: 'lineer', depth: 2 }, colour: 'blue' });
    const by = Object.fromEntries(errors.map((e) => [e.path, e.message]));
    expect(by['network.kind']).toMatch(/; did you mean "linear"\?$/);
    expect(by['colour']).toBe('unknown field');
  });

  it('works for a sweep’s base spec too', () => {
    const body = {
      base: { network: { kind: 'linear', depth: 2 }, trainig: {} },
      axes: [{ path: 'network.depth', values: [1, 2] }],
    };
    const parsed = SweepRequest.safeParse(body);
    expect(parsed.success).toBe(false);
    const errors = withSuggestions(fieldErrorsFromIssues(parsed.error!.issues), SweepRequest, body);
    expect(errors).toContainEqual({ path: 'base.trainig', message: 'unknown field; did you mean "training"?' });
  });
});
