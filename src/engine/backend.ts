/**
 * Where the engine's matrix products run and where its tensors live. The WebAssembly backend
 * (./wasm) hands out a WebAssembly.Memory buffer and kernels that read it; the TypeScript one uses
 * a plain ArrayBuffer. Switch the default in `defaultBackend` only.
 */
import { type Backend, tsKernels } from './kernels.js';
import { createWasmBackend } from './wasm/index.js';

// The interface lives in kernels.ts, which the WebAssembly backend imports without importing this
// module back (no import cycle).
export type { Backend };

/** The TypeScript kernels over ordinary ArrayBuffers. */
export const tsBackend: Backend = {
  kernels: tsKernels,
  createBuffer: (bytes) => new ArrayBuffer(bytes),
};

/** The backend `simulate` uses when none is passed. */
export function defaultBackend(): Backend {
  // WebAssembly SIMD kernels: bit-identical to tsKernels and 1.5–3× faster on the benchmark
  // workloads (docs/bench.md); tsBackend stays the reference and the fallback.
  return createWasmBackend();
}
