/** Resolved network shapes: every default filled in, one place for the rest of the engine to read. */
import type { ActivationName, JobSpec } from '../contract/spec.js';

export interface LayeredShape {
  kind: 'layered';
  network: 'linear' | 'mlp';
  /** dims[0] = inputDim, dims[l] = outputs of layer l, dims[L] = outputDim. */
  dims: number[];
  depth: number;
  activation: ActivationName;
  bias: boolean;
  batchNorm: boolean;
}

export interface RnnShape {
  kind: 'rnn';
  inputDim: number;
  hidden: number;
  outputDim: number;
  seqLength: number;
  activation: 'tanh' | 'identity' | 'relu';
  bias: boolean;
}

export type Shape = LayeredShape | RnnShape;

export function resolveShape(spec: JobSpec): Shape {
  const net = spec.network;
  if (net.kind === 'rnn') {
    return {
      kind: 'rnn',
      inputDim: net.inputDim,
      hidden: net.hidden,
      outputDim: net.outputDim,
      seqLength: net.seqLength,
      activation: net.activation,
      bias: net.bias,
    };
  }
  const dims = [net.inputDim ?? net.width];
  for (let l = 1; l < net.depth; l++) dims.push(net.width);
  dims.push(net.outputDim ?? net.width);
  return {
    kind: 'layered',
    network: net.kind,
    dims,
    depth: net.depth,
    activation: net.kind === 'mlp' ? net.activation : 'identity',
    bias: net.bias,
    batchNorm: net.kind === 'mlp' && spec.mitigations.some((m) => m.kind === 'batch-norm'),
  };
}

/** Input and output width of the network. */
export function ioDims(shape: Shape): { inputDim: number; outputDim: number } {
  return shape.kind === 'rnn'
    ? { inputDim: shape.inputDim, outputDim: shape.outputDim }
    : { inputDim: shape.dims[0], outputDim: shape.dims[shape.depth] };
}

/** Telemetry layer names: W1…WL, or W_xh, W_hh, W_hy. */
export function layerNames(shape: Shape): string[] {
  if (shape.kind === 'rnn') return ['W_xh', 'W_hh', 'W_hy'];
  return Array.from({ length: shape.depth }, (_, l) => `W${l + 1}`);
}
