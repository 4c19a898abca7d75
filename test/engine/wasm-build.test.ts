// The committed module must be what the AssemblyScript source compiles to (the fastify habit for
// generated files): a stale kernels.generated.ts fails here.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { compileKernels, GENERATED, renderGenerated } from '../../scripts/build-wasm.js';

describe('generated WebAssembly module', () => {
  it('matches a fresh build of wasm/kernels.ts byte for byte (default and FMA modules)', async () => {
    const bytes = await compileKernels();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const fma = await compileKernels(true);
    expect(Buffer.from(fma).equals(Buffer.from(bytes))).toBe(false);
    const committed = await readFile(new URL(`../../${GENERATED}`, import.meta.url), 'utf8');
    expect(committed).toBe(renderGenerated(bytes, fma));
  });
});
