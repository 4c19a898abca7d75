/**
 * Worker-thread entry for POST /v1/analysis: the SVDs and eigenvalues of a large network take
 * seconds, which must not stall the HTTP event loop (streams, pings, other requests).
 */
import type { AnalysisRequest, AnalysisResult } from '../contract/analysis.js';
import { analyze } from '../engine/analysis/index.js';

export default function run(request: AnalysisRequest): AnalysisResult {
  return analyze(request);
}
