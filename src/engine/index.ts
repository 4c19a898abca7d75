/** The engine's public surface: pure numerics, no I/O. See ./types.ts for the contract. */
export { analyze } from './analysis/index.js';
export type { Backend } from './backend.js';
export { defaultBackend, tsBackend } from './backend.js';
export { checkSpec } from './check.js';
export { estimateWork } from './estimate.js';
export { initParams } from './init.js';
export type { Kernels } from './kernels.js';
export { tsKernels } from './kernels.js';
export { seriesToJson, stepEventAt } from './series.js';
export type { SimulateOptions } from './simulate.js';
export { simulate } from './simulate.js';
export type { ForwardStats } from './stats.js';
export { forwardStats } from './stats.js';
export * from './types.js';
