/**
 * What a stored result's checksum costs (runtime/store/integrity.ts): CRC-32 against SHA-256 and
 * SHA-1 on a W1 job's 288 KB of series bytes. `npx tsx bench/checksum.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

const blob = randomBytes(288 * 1024);
const candidates: [string, () => unknown][] = [
  ['crc32 (node:zlib)', () => crc32(blob)],
  ['sha1 (node:crypto)', () => createHash('sha1').update(blob).digest()],
  ['sha256 (node:crypto)', () => createHash('sha256').update(blob).digest()],
];
for (const [name, run] of candidates) {
  for (let i = 0; i < 200; i++) run();
  const n = 2000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / n;
  console.log(`${name.padEnd(22)} ${ms.toFixed(3)} ms per 288 KB (${((288 * 1024) / ms / 1e6).toFixed(2)} GB/s)`);
}
