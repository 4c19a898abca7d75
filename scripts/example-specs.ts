/**
 * Writes examples/specs/*.json, the ready job specs the README points to, from the preset catalogue
 * (src/contract/presets.ts), so a file and the preset of the same name can never disagree.
 * `npx tsx scripts/example-specs.ts`; test/examples-specs.test.ts fails when a committed file
 * differs from what this produces, and runs every one through the CLI.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { presets } from '../src/contract/presets.js';
import type { JobSpecInput } from '../src/contract/spec.js';

/** File name → the preset or mitigated variant it holds, and what it shows. */
export const EXAMPLE_SPECS: Record<string, { id: string; shows: string }> = {
  'textbook-exploding.json': { id: 'textbook-exploding', shows: 'W = 1.5·I, 10 linear layers: gradients explode' },
  'textbook-clipped.json': {
    id: 'textbook-exploding-clip-norm',
    shows: 'the same net with clip-norm 1: gradients still explode, clipping keeps training on track',
  },
  'textbook-vanishing.json': { id: 'textbook-vanishing', shows: 'W = 0.5·I, 10 linear layers: gradients vanish' },
  'mlp-tanh-vanishing.json': { id: 'mlp-tanh-vanishing', shows: '20 tanh layers, Xavier × 0.5: gradients vanish' },
  'rnn-long-vanishing.json': {
    id: 'rnn-long-vanishing',
    shows: 'tanh rnn over 100 steps: the gradient through time vanishes (‖∂L/∂h_t‖ recorded)',
  },
  'learning-rate-too-high.json': { id: 'learning-rate-too-high', shows: 'learning rate 1.0: the loss runs away' },
};

export const SPECS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'specs');

export function presetSpec(id: string): JobSpecInput {
  for (const p of presets) {
    if (p.id === id) return p.spec;
    const m = p.mitigated.find((v) => v.id === id);
    if (m) return m.spec;
  }
  throw new Error(`no preset or variant ${id}`);
}

/** Each file's text as committed. */
export function exampleSpecFiles(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, { id }] of Object.entries(EXAMPLE_SPECS)) {
    out.set(file, `${JSON.stringify(presetSpec(id), null, 2)}\n`);
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [file, text] of exampleSpecFiles()) writeFileSync(path.join(SPECS_DIR, file), text);
  console.log(`wrote ${Object.keys(EXAMPLE_SPECS).length} specs to ${SPECS_DIR}`);
}
