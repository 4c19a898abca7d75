/**
 * The analysis behind POST /v1/analysis: what a network's initial weights do to a signal. The only
 * module that imports ml-matrix. Call `checkAnalysis` first (its issues are 422s), then `analyze`.
 */
import type { AnalysisRequest, AnalysisResult } from '../../contract/analysis.js';
import type { JobSpec } from '../../contract/spec.js';
import { checkSpec } from '../check.js';
import { initParams } from '../init.js';
import type { SpecIssue } from '../types.js';
import { ANALYSIS_BUDGET, analyzeParams, checkAnalysisBudget } from './analyze.js';

export {
  ANALYSIS_BUDGET,
  analyzeParams,
  checkAnalysisBudget,
  estimateAnalysis,
  POWERS_BUDGET,
  PRODUCT_MAX_DIM,
} from './analyze.js';
export { gaussianExpectation, meanField } from './meanfield.js';

/** A request that `checkAnalysis` refuses; `issues` name the fields. */
export class AnalysisRefusedError extends Error {
  constructor(readonly issues: SpecIssue[]) {
    super(`analysis refused: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.name = 'AnalysisRefusedError';
  }
}

/** The job spec whose initial weights are analysed: the network and seed; the rest cannot change the draw. */
function specFor(request: AnalysisRequest): JobSpec {
  return {
    seed: request.seed,
    network: request.network,
    data: { kind: 'synthetic', samples: 1, noise: 0 },
    training: {
      steps: 1,
      batchSize: 1,
      learningRate: 0.01,
      optimizer: 'sgd',
      dtype: 'float64',
      stopOnNonFinite: true,
    },
    mitigations: [],
    record: { every: 1, layers: true, hiddenGradNorms: false },
  };
}

/**
 * Problems that make a schema-valid request impossible (answer 422): explicit weights whose shapes
 * do not fit the network (the engine's `checkSpec`), or a network whose analysis would take longer
 * than `budget` (estimated nanoseconds, default ANALYSIS_BUDGET).
 */
export function checkAnalysis(request: AnalysisRequest, budget = ANALYSIS_BUDGET): SpecIssue[] {
  const shapes = checkSpec(specFor(request));
  return shapes.length > 0 ? shapes : checkAnalysisBudget(request.network, budget);
}

/**
 * Analyses the network's weights as `initParams` draws them for `request.seed` (the weights a job
 * with the same network and seed starts from). Synchronous and pure; throws AnalysisRefusedError
 * for a request `checkAnalysis` refuses.
 */
export function analyze(request: AnalysisRequest, budget = ANALYSIS_BUDGET): AnalysisResult {
  const issues = checkAnalysis(request, budget);
  if (issues.length > 0) throw new AnalysisRefusedError(issues);
  return analyzeParams(request.network, initParams(specFor(request)), request.seed);
}
