/**
 * Compiles wasm/kernels.ts (AssemblyScript) twice — the default module, and the FMA module with
 * relaxed SIMD (fused multiply-adds in the products) — and writes src/engine/wasm/kernels.generated.ts,
 * both modules as base64, so nothing is compiled at install time.
 *
 *   npx tsx scripts/build-wasm.ts          # rebuild and write
 *   npx tsx scripts/build-wasm.ts --check  # exit 1 when the committed file is stale
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = fileURLToPath(new URL('..', import.meta.url));
export const SOURCE = 'wasm/kernels.ts';
export const GENERATED = 'src/engine/wasm/kernels.generated.ts';
/** The exact compiler flags; the generated file records them. */
export const ASC_FLAGS = ['--enable', 'simd', '-O3', '--runtime', 'stub', '--importMemory', '--noAssert'];
/** Added for the FMA module. */
export const ASC_FMA_FLAGS = ['--enable', 'relaxed-simd'];

/** Compiles the AssemblyScript source (with relaxed SIMD when `fma`) and returns the module's bytes. */
export async function compileKernels(fma = false): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const stderr: string[] = [];
  const flags = fma ? [...ASC_FLAGS, ...ASC_FMA_FLAGS] : ASC_FLAGS;
  const { error } = await asc.main([SOURCE, ...flags, '--outFile', 'kernels.wasm'], {
    readFile: (name, baseDir) => readFile(resolve(root, baseDir, name), 'utf8').catch(() => null),
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm')) binary = contents as Uint8Array;
    },
    listFiles: () => [],
    stderr: { write: (s: string | Uint8Array) => stderr.push(String(s)) },
    stdout: { write: () => undefined },
    baseDir: root,
  } as Parameters<typeof asc.main>[1]);
  if (error || !binary) throw new Error(`asc failed: ${error?.message ?? ''}\n${stderr.join('')}`);
  return binary;
}

/** The text of the generated TypeScript module for these bytes (default module, FMA module). */
export function renderGenerated(bytes: Uint8Array, fmaBytes: Uint8Array): string {
  const b64 = Buffer.from(bytes).toString('base64');
  const fma64 = Buffer.from(fmaBytes).toString('base64');
  return `// generated — do not edit. Built by scripts/build-wasm.ts from ${SOURCE} with
// asc ${ASC_FLAGS.join(' ')} (and ${ASC_FMA_FLAGS.join(' ')} for the FMA module);
// test/engine/wasm-build.test.ts checks that it is current.
export const KERNELS_WASM_BASE64 =
  '${b64}';
export const KERNELS_FMA_WASM_BASE64 =
  '${fma64}';
`;
}

async function main(): Promise<void> {
  const text = renderGenerated(await compileKernels(), await compileKernels(true));
  const path = resolve(root, GENERATED);
  if (process.argv.includes('--check')) {
    const current = await readFile(path, 'utf8').catch(() => '');
    if (current !== text) {
      console.error(`${GENERATED} is stale: run npx tsx scripts/build-wasm.ts`);
      process.exit(1);
    }
    return;
  }
  await writeFile(path, text);
  console.log(`wrote ${GENERATED}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
