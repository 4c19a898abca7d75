export { ANALYSIS_BUDGET, analyzeParams, checkAnalysisBudget, PRODUCT_MAX_DIM } from './analyze.js';
