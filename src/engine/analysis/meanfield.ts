/**
 * Mean-field signal propagation at initialization (Poole et al. 2016, Schoenholz et al. 2017):
 * the fixed point q* of the pre-activation variance map and χ₁, the per-layer factor on squared
 * gradient norms.
 *
 * Gaussian expectations E[g(s·z)], z ~ N(0, 1), use the midpoint rule on a uniform grid in z.
 * For integrands analytic in a strip |Im z| < d and decaying like the Gaussian density, its error
 * falls like exp(−2πd/h) (Trefethen & Weideman 2014, "The exponentially convergent trapezoidal
 * rule"). tanh(s·z) and sigmoid(s·z) have poles at distance π/(2s), resp. π/s, so a step
 * h = d/6 keeps the error near exp(−12π) ≈ 4e-17. Gauss–Hermite with 100 nodes, tried first, is off by 3e-8 for
 * E[tanh(1.46·z)²], because of those same poles. With symmetric nodes and none at z = 0, the
 * rule gives E[relu(s·z)²] = s²/2 and E[1(z > 0)] = 1/2 to rounding, despite relu's kink.
 */
import type { ActivationName } from '../../contract/spec.js';

// exp(−z²/2) underflows to 0 beyond |z| ≈ 38.6: the tail past HALF_WIDTH contributes nothing.
const HALF_WIDTH = 39;
const MAX_STEP = 0.05;
const MAX_NODES_PER_SIDE = 500_000;

/**
 * E[g(s·z)] for z ~ N(0, 1). `poleDistance`: how close to the real axis g's nearest pole is (in
 * units of the argument of g; Infinity for piecewise polynomials), which sets the step.
 */
export function gaussianExpectation(g: (x: number) => number, s = 1, poleDistance = Math.PI / 2): number {
  const strip = poleDistance / s;
  const h =
    Number.isFinite(strip) && strip > 0
      ? Math.max(Math.min(MAX_STEP, strip / 6), HALF_WIDTH / MAX_NODES_PER_SIDE)
      : MAX_STEP;
  const nodes = Math.ceil(HALF_WIDTH / h);
  const c = h / Math.sqrt(2 * Math.PI);
  let sum = 0;
  // From the tails inwards, so that the smallest terms are added first.
  for (let i = nodes - 1; i >= 0; i--) {
    const z = (i + 0.5) * h;
    const w = c * Math.exp(-0.5 * z * z);
    if (w === 0) continue;
    sum += w * (g(s * z) + g(-s * z));
  }
  return sum;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const phi: Record<ActivationName, (x: number) => number> = {
  identity: (x) => x,
  tanh: Math.tanh,
  relu: (x) => Math.max(x, 0),
  sigmoid,
};

export const phiPrime: Record<ActivationName, (x: number) => number> = {
  identity: () => 1,
  tanh: (x) => {
    const t = Math.tanh(x);
    return 1 - t * t;
  },
  // relu′(0) = 0, as in the numerical contract.
  relu: (x) => (x > 0 ? 1 : 0),
  sigmoid: (x) => {
    const s = sigmoid(x);
    return s * (1 - s);
  },
};

// Nearest complex singularity of φ and φ′² (tanh: ±iπ/2; sigmoid: ±iπ); none for relu and identity.
const poleDistance: Record<ActivationName, number> = {
  identity: Number.POSITIVE_INFINITY,
  tanh: Math.PI / 2,
  relu: Number.POSITIVE_INFINITY,
  sigmoid: Math.PI,
};

export interface MeanField {
  qStar: number;
  chi1: number;
  depthScale: number;
  phase: 'ordered' | 'critical' | 'chaotic';
  iterations: number;
}

const MAX_ITERATIONS = 100_000;
// χ₁ within this of 1 is the critical line (xavier, he and orthogonal at gain 1 land on it exactly).
const CRITICAL_TOLERANCE = 1e-12;

/** q* by iterating q ← σ_w²·E[φ(√q·z)²] + σ_b² from q = 1, until it stops changing (or overflows). */
export function fixedPoint(
  activation: ActivationName,
  sigmaW2: number,
  sigmaB2: number,
): { qStar: number; iterations: number } {
  const f = phi[activation];
  let q = 1;
  for (let it = 1; it <= MAX_ITERATIONS; it++) {
    const s = Math.sqrt(q);
    const next = sigmaW2 * gaussianExpectation((x) => f(x) ** 2, s, poleDistance[activation]) + sigmaB2;
    if (!Number.isFinite(next)) return { qStar: Number.POSITIVE_INFINITY, iterations: it };
    if (Math.abs(next - q) <= 1e-15 * Math.max(next, q) || next === 0) return { qStar: next, iterations: it };
    q = next;
  }
  return { qStar: q, iterations: MAX_ITERATIONS };
}

/**
 * Mean-field q*, χ₁, depth scale and phase for an activation, σ_w² and σ_b².
 * Where the map has a closed form it is used instead of iterating, because the iteration creeps
 * towards q* = 0 only like 1/t on the critical line:
 * - identity: q ← σ_w²·q; relu: q ← σ_w²·q/2 (E[relu(√q z)²] = q/2), so with σ_b = 0, q* is 0, 1
 *   (every q is fixed; the iteration stays at 1) or ∞; and E[φ′²] is 1, resp. 1/2, for every q > 0.
 * - tanh with σ_b = 0 and σ_w² ≤ 1: tanh(x)² < x² for x ≠ 0, so q_{t+1} < σ_w²·q_t ≤ q_t and q* = 0,
 *   where E[φ′(√q z)²] → tanh′(0)² = 1, hence χ₁ = σ_w².
 */
export function meanField(
  activation: ActivationName,
  sigmaW2: number,
  sigmaB2 = 0,
  options: { closedForm?: boolean } = {},
): MeanField {
  const closedForm = options.closedForm ?? true;
  // σ_w² itself overflowed (std ≳ 1e154): every quantity is infinite, and ∞·E[φ′²] would be NaN.
  if (sigmaW2 === Number.POSITIVE_INFINITY) {
    return { qStar: sigmaW2, chi1: sigmaW2, depthScale: 0, phase: 'chaotic', iterations: 0 };
  }
  let qStar: number;
  let chi1: number;
  let iterations = 0;
  const linearGain = activation === 'identity' ? sigmaW2 : activation === 'relu' ? sigmaW2 / 2 : Number.NaN;
  if (closedForm && sigmaB2 === 0 && !Number.isNaN(linearGain)) {
    qStar = linearGain < 1 ? 0 : linearGain === 1 ? 1 : Number.POSITIVE_INFINITY;
    chi1 = linearGain;
  } else if (closedForm && sigmaB2 === 0 && activation === 'tanh' && sigmaW2 <= 1) {
    qStar = 0;
    chi1 = sigmaW2;
  } else {
    ({ qStar, iterations } = fixedPoint(activation, sigmaW2, sigmaB2));
    // At q* = 0, χ₁ is the limit q → 0+ (relu′(0) = 0 would otherwise make it 0 instead of σ_w²/2).
    const s = Math.sqrt(Math.max(qStar, Number.MIN_VALUE));
    const d = phiPrime[activation];
    chi1 = sigmaW2 * gaussianExpectation((x) => d(x) ** 2, s, poleDistance[activation]);
  }
  const critical = Math.abs(chi1 - 1) <= CRITICAL_TOLERANCE;
  return {
    qStar,
    chi1,
    // ξ = −1/ln χ₁: positive in the ordered phase (gradients shrink by e every ξ layers), negative in
    // the chaotic phase (they grow by e every |ξ| layers), infinite on the critical line.
    depthScale: critical ? Number.POSITIVE_INFINITY : -1 / Math.log(chi1),
    phase: critical ? 'critical' : chi1 < 1 ? 'ordered' : 'chaotic',
    iterations,
  };
}
