/**
 * Cross-field checks the schema cannot express. Every issue names the field (a path into the
 * spec) and, for shapes, both the shape given and the shape required.
 */
import type { JobSpec } from '../contract/spec.js';
import { ioDims, resolveShape } from './shape.js';
import type { SpecIssue } from './types.js';

/** Enough to fix a spec; a 10,000-row data set with one bad width should not yield 10,000 issues. */
const MAX_ISSUES = 20;

type Path = (string | number)[];

function shapeOf(m: unknown): string {
  if (!Array.isArray(m)) return 'not a matrix';
  const cols = Array.isArray(m[0]) ? m[0].length : 0;
  return `${m.length}×${cols}`;
}

export function checkSpec(spec: JobSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const add = (path: Path, message: string) => {
    if (issues.length < MAX_ISSUES) issues.push({ path, message });
  };
  const shape = resolveShape(spec);
  const net = spec.network;

  spec.mitigations.forEach((m, i) => {
    if (m.kind === 'batch-norm' && net.kind !== 'mlp') {
      add(['mitigations', i], `batch-norm applies to mlp networks only; this network is ${net.kind}`);
    }
  });

  /** Checks that `m` is rows×cols with every row that long. */
  const matrix = (path: Path, label: string, m: number[][], rows: number, cols: number, hint = '') => {
    const ragged = m.findIndex((r) => r.length !== (m[0]?.length ?? 0));
    if (ragged >= 0) {
      add([...path, ragged], `${label}: row ${ragged} has ${m[ragged].length} entries, row 0 has ${m[0].length}`);
      return;
    }
    if (m.length !== rows || (m[0]?.length ?? 0) !== cols) {
      add(path, `${label} has shape ${shapeOf(m)} but must be ${rows}×${cols} ([out][in])${hint}`);
    }
  };
  const vector = (path: Path, label: string, v: number[], n: number) => {
    if (v.length !== n) add(path, `${label} has ${v.length} entries but must have ${n}`);
  };

  const init = net.init;
  if (init.scheme === 'explicit') {
    const base: Path = ['network', 'init'];
    if (shape.kind === 'layered' && 'weights' in init) {
      const { dims, depth } = shape;
      if (init.weights.length !== depth) {
        add([...base, 'weights'], `${init.weights.length} weight matrices given but network.depth is ${depth}`);
      } else {
        for (let l = 0; l < depth; l++) {
          const prev = l === 0 ? `inputDim ${dims[0]}` : `W${l} (${dims[l]}×${dims[l - 1]}) outputs ${dims[l]}`;
          const next = l === depth - 1 ? `outputDim ${dims[depth]}` : `width ${dims[l + 1]}`;
          const hint = `: it must read ${prev} and produce ${next}`;
          matrix([...base, 'weights', l], `layer W${l + 1}`, init.weights[l], dims[l + 1], dims[l], hint);
        }
      }
      if (init.biases) {
        if (!shape.bias) add([...base, 'biases'], 'biases given but network.bias is false');
        else if (init.biases.length !== depth) {
          add([...base, 'biases'], `${init.biases.length} bias vectors given but network.depth is ${depth}`);
        } else {
          for (let l = 0; l < depth; l++) {
            vector([...base, 'biases', l], `bias of layer W${l + 1}`, init.biases[l], dims[l + 1]);
          }
        }
      }
    } else if (shape.kind === 'rnn' && 'recurrentWeights' in init) {
      const { inputDim: d, hidden: h, outputDim: o } = shape;
      matrix([...base, 'inputWeights'], 'inputWeights (W_xh)', init.inputWeights, h, d, ' (hidden × inputDim)');
      matrix(
        [...base, 'recurrentWeights'],
        'recurrentWeights (W_hh)',
        init.recurrentWeights,
        h,
        h,
        ' (hidden × hidden)',
      );
      matrix([...base, 'outputWeights'], 'outputWeights (W_hy)', init.outputWeights, o, h, ' (outputDim × hidden)');
      for (const [key, label, n] of [
        ['hiddenBias', 'hiddenBias (b_h)', h],
        ['outputBias', 'outputBias (b_y)', o],
      ] as const) {
        const v = init[key];
        if (!v) continue;
        if (!shape.bias) add([...base, key], `${label} given but network.bias is false`);
        else vector([...base, key], label, v, n);
      }
    }
  }

  const { inputDim, outputDim } = ioDims(shape);
  const data = spec.data;
  if (data.kind === 'synthetic') {
    if (data.featureScales && data.featureScales.length !== inputDim) {
      add(
        ['data', 'featureScales'],
        `featureScales has ${data.featureScales.length} entries but the network's inputDim is ${inputDim}`,
      );
    }
  } else {
    if (data.inputs.length !== data.targets.length) {
      add(['data', 'targets'], `${data.targets.length} targets for ${data.inputs.length} inputs`);
    }
    data.inputs.forEach((x, s) => {
      if (shape.kind === 'rnn') {
        const seq = x as unknown[];
        const ok = seq.length === shape.seqLength && seq.every((row) => Array.isArray(row) && row.length === inputDim);
        if (!ok) {
          add(
            ['data', 'inputs', s],
            `input ${s} has shape ${shapeOf(seq)} but must be ${shape.seqLength}×${inputDim} (seqLength × inputDim)`,
          );
        }
      } else if (x.length !== inputDim || x.some((v) => typeof v !== 'number')) {
        const given = x.some((v) => Array.isArray(v)) ? `a ${shapeOf(x)} matrix` : `${x.length} numbers`;
        add(['data', 'inputs', s], `input ${s} is ${given} but must be ${inputDim} numbers (inputDim)`);
      }
    });
    data.targets.forEach((y, s) => {
      if (y.length !== outputDim) {
        add(['data', 'targets', s], `target ${s} has ${y.length} entries but the network's outputDim is ${outputDim}`);
      }
    });
  }
  return issues;
}
