/**
 * The theory drawn beside a sweep's measurements: a prediction per cell and the boundary lines on
 * the axes. Closed forms where they exist (scaled identity, orthogonal W_hh, mean field from σ_w²);
 * the engine's analysis (an SVD of the drawn W_hh) otherwise.
 */
import { encodeNum } from '../../contract/events.js';
import type { JobSpec } from '../../contract/spec.js';
import type { CellPrediction, SweepRequest, TheoryLine } from '../../contract/sweep.js';
import { analyze } from '../../engine/analysis/index.js';
import { meanField } from '../../engine/analysis/meanfield.js';

const NONE: CellPrediction = {
  layerGradFactor: null,
  chi1: null,
  depthScale: null,
  lambda1: null,
  backwardGainBound: null,
};

/** An SVD of W_hh costs ~hidden³; past this the prediction is left out rather than stall a request. */
const MAX_ANALYZED_HIDDEN = 256;
/** Distinct W_hh draws analysed per sweep (a cache holds one sweep's). */
const MAX_ANALYSES = 64;

/**
 * σ_w² = fanIn·Var(W) of a hidden width×width layer for a random scheme (the mean-field weight
 * variance; biases start at 0, so σ_b² = 0), or null for a deterministic init.
 */
export function sigmaW2(init: JobSpec['network']['init'], width: number): number | null {
  switch (init.scheme) {
    case 'gaussian':
      return width * init.std * init.std;
    case 'xavier':
      // std² = gain²·2/(fanIn + fanOut) = gain²/width on a square layer.
      return init.gain * init.gain;
    case 'he':
      return 2 * init.gain * init.gain;
    case 'orthogonal':
      // Entries of an N×N orthogonal matrix have second moment 1/N.
      return init.gain * init.gain;
    default:
      return null;
  }
}

/** λ₁ of W_hh: exact for gain·I and gain·orthogonal, an SVD of the drawn matrix otherwise. */
function rnnLambda1(spec: JobSpec, cache: Map<string, number | null>): number | null {
  const net = spec.network;
  if (net.kind !== 'rnn') return null;
  if (net.init.scheme === 'orthogonal') return net.init.gain;
  if (net.init.scheme === 'scaled-identity') return Math.abs(net.init.gain);
  if (net.hidden > MAX_ANALYZED_HIDDEN) return null;
  // The weights do not depend on T: analysing at T = 1 skips the powers of W_hh, and one SVD serves a whole T axis.
  const network = { ...net, seqLength: 1 };
  const key = JSON.stringify([network, spec.seed]);
  if (cache.has(key)) return cache.get(key) ?? null;
  // Bounded work per sweep (one cache per sweep): past it, cells go without a λ₁ rather than stall the request.
  if (cache.size >= MAX_ANALYSES) return null;
  let value: number | null = null;
  try {
    const rec = analyze({ network, seed: spec.seed }).recurrent;
    value = rec && typeof rec.lambda1 === 'number' ? rec.lambda1 : null;
  } catch {
    // Over the analysis budget: the cell simply has no prediction.
  }
  cache.set(key, value);
  return value;
}

/** The analytic prediction for one cell (fields without a theory are null). */
export function predictCell(spec: JobSpec, cache: Map<string, number | null> = new Map()): CellPrediction {
  const net = spec.network;
  if (net.kind === 'linear') {
    if (net.init.scheme !== 'scaled-identity') return NONE;
    return { ...NONE, layerGradFactor: encodeNum(net.init.gain ** (net.depth - 1)) };
  }
  if (net.kind === 'mlp') {
    const s2 = sigmaW2(net.init, net.width);
    if (s2 === null) return NONE;
    const mf = meanField(net.activation, s2, 0);
    return { ...NONE, chi1: encodeNum(mf.chi1), depthScale: encodeNum(mf.depthScale) };
  }
  const lambda1 = rnnLambda1(spec, cache);
  if (lambda1 === null) return NONE;
  return { ...NONE, lambda1: encodeNum(lambda1), backwardGainBound: encodeNum(lambda1 ** (net.seqLength - 1)) };
}

/**
 * Where the theory puts a boundary on an axis of `network.init.gain` / `network.init.std`:
 * |gain| = 1 for scaled-identity linear nets; χ₁ = 1 for an mlp (σ_w = 1 for tanh and identity,
 * √2 for relu, at σ_b = 0), in the axis's own units; λ₁ = 1 for an rnn whose W_hh is gain·I or
 * gain·orthogonal (Pascanu et al. 2013 with γ = 1).
 */
export function theoryLines(request: SweepRequest): TheoryLine[] {
  const lines: TheoryLine[] = [];
  const net = request.base.network;
  for (const axis of request.axes) {
    if (axis.path !== 'network.init.gain' && axis.path !== 'network.init.std') continue;
    const scheme = net.init.scheme;
    if (net.kind === 'linear' && scheme === 'scaled-identity' && axis.path === 'network.init.gain') {
      lines.push({
        path: axis.path,
        value: 1,
        label: 'gain = 1',
        description:
          'W = gain·I: the backward signal is scaled by gain^(L−1); above 1 it explodes with depth, below 1 it vanishes.',
      });
    } else if (
      net.kind === 'mlp' &&
      (net.activation === 'tanh' || net.activation === 'identity' || net.activation === 'relu')
    ) {
      const critical = net.activation === 'relu' ? Math.SQRT2 : 1;
      let value: number | null = null;
      if (axis.path === 'network.init.gain') {
        if (scheme === 'xavier' || scheme === 'orthogonal') value = critical;
        else if (scheme === 'he') value = critical / Math.SQRT2;
      } else if (scheme === 'gaussian') value = critical / Math.sqrt(net.width);
      if (value !== null)
        lines.push({
          path: axis.path,
          value,
          label: 'χ₁ = 1',
          description: `Mean field (Schoenholz et al. 2017): χ₁ = 1 at σ_w = ${net.activation === 'relu' ? '√2' : '1'} (σ_b = 0, ${net.activation}); ordered (vanishing) below, chaotic (exploding) above; the depth scale ξ = −1/ln χ₁ diverges on the line.`,
        });
    } else if (
      net.kind === 'rnn' &&
      (scheme === 'orthogonal' || scheme === 'scaled-identity') &&
      axis.path === 'network.init.gain'
    ) {
      lines.push({
        path: axis.path,
        value: 1,
        label: 'λ₁ = 1',
        description:
          'Pascanu et al. 2013: λ₁ < 1/γ (γ = 1) is sufficient for vanishing gradients through time, λ₁ > 1 necessary for exploding; for an identity rnn ‖∂h_T/∂h_1‖ = λ^(T−1).',
      });
    }
  }
  return lines;
}
