/**
 * A store that notices damage (docs/ops.md, "A damaged store"):
 *
 * - at start, a file that exists but is empty, is not a SQLite database, fails `PRAGMA quick_check`
 *   or lacks the tables this build expects is refused with a StoreRefusedError that names the file
 *   and says what to do, instead of being treated as a new, empty store;
 * - every stored result carries a CRC-32 of its bytes (blobs and JSON columns), written with it and
 *   verified on every read. CRC-32 rather than a cryptographic hash because it guards against
 *   damage, not against an attacker, and costs 0.07–0.26 ms on a W1 job's 288 KB where SHA-256
 *   costs 0.55–0.74 ms (Node 24, a shared 2-core machine, `npx tsx bench/checksum.ts`). A result that fails
 *   is recomputed from the job's spec (runs are deterministic, see recompute.ts) and written back.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import type Database from 'better-sqlite3';

/** The store will not open this file; the message names it and says what to do. */
export class StoreRefusedError extends Error {
  constructor(
    readonly file: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(
      `refusing to start on the job store ${file}: ${problem}. Restore the file from a backup, or move it ` +
        'aside (its jobs are then lost) so that the server creates a new, empty store.',
      options,
    );
    this.name = 'StoreRefusedError';
  }
}

/** Counters of what the integrity checks found, process-wide (the /metrics counters read them). */
export const integrityStats = {
  /** Stored results whose checksum did not match on read. */
  damagedResults: 0,
  /** Of those, results recomputed from their spec and written back. */
  repairedResults: 0,
};

const SQLITE_HEADER = 'SQLite format 3\0';

/**
 * Before the file is opened: whether it already exists, and a refusal when it exists but cannot be
 * a database (0 bytes, or a header that is not SQLite's). SQLite itself would treat a 0-byte file
 * as a new database, and a store that silently starts empty looks like every job was lost.
 */
export function inspectBeforeOpen(file: string): { existed: boolean } {
  if (!existsSync(file)) return { existed: false };
  const size = statSync(file).size;
  if (size === 0) throw new StoreRefusedError(file, 'the file exists but is empty (0 bytes)');
  const head = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') !== SQLITE_HEADER) {
    throw new StoreRefusedError(file, 'the file is not a SQLite database (its header is wrong)');
  }
  return { existed: true };
}

/** The tables and columns a current store holds (checked after migration). */
export type ExpectedSchema = Readonly<Record<string, readonly string[]>>;

/**
 * After opening an existing file: `PRAGMA quick_check` (O(pages), no index cross-checks: 0.1 s for
 * ~100 MB) and, once migrated, the tables this build expects. `version` is PRAGMA user_version
 * before migration: an existing file at version 0 holds no schema of ours.
 */
export function checkExisting(db: Database.Database, file: string, version: number): void {
  let verdict: string[];
  try {
    verdict = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
  } catch (err) {
    throw new StoreRefusedError(
      file,
      `the database is damaged (its integrity check failed: ${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  if (verdict.length !== 1 || verdict[0] !== 'ok') {
    throw new StoreRefusedError(file, `the database is damaged (quick_check: ${verdict.join('; ').slice(0, 300)})`);
  }
  if (version === 0) {
    throw new StoreRefusedError(file, 'the file is a SQLite database but holds no Gradient Lab schema');
  }
}

/** Refuses a store whose tables lack a column this build reads. */
export function checkSchema(db: Database.Database, file: string, expected: ExpectedSchema): void {
  for (const [table, columns] of Object.entries(expected)) {
    const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    if (have.size === 0) throw new StoreRefusedError(file, `the table "${table}" is missing`);
    const missing = columns.filter((c) => !have.has(c));
    if (missing.length > 0) {
      throw new StoreRefusedError(file, `the table "${table}" lacks the columns ${missing.join(', ')}`);
    }
  }
}

/** Wraps whatever opening the file threw (SQLITE_NOTADB, SQLITE_CORRUPT…) so that it names the file. */
export function refusal(file: string, err: unknown): Error {
  if (err instanceof StoreRefusedError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^SQLITE_(NOTADB|CORRUPT)/.test(code)) {
    return new StoreRefusedError(file, `SQLite cannot read it (${code}: ${(err as Error).message})`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

export interface ResultParts {
  shape: string;
  length: number;
  steps: Uint8Array;
  vals: Uint8Array;
  hidden: Uint8Array;
  nonfinite: string | null;
  done: string;
}

function textOf(parts: ResultParts): string {
  // \u0001 separates the text fields and marks a null nonfinite apart from an empty one.
  return `${parts.shape}\u0001${parts.length}\u0001${parts.nonfinite ?? '\u0002'}\u0001${parts.done}`;
}

/** The checksum of a stored result: CRC-32 over its blobs, then its text columns and length. */
export function resultChecksum(parts: ResultParts): number {
  let c = crc32(parts.steps);
  c = crc32(parts.vals, c);
  c = crc32(parts.hidden, c);
  return crc32(textOf(parts), c);
}

/** Bytes checksummed between two yields to the event loop (≈ 1–4 ms of CRC-32). */
const CRC_SLICE = 4 * 2 ** 20;

/** resultChecksum, the same number, computed in slices that let the event loop turn between them. */
export async function resultChecksumAsync(parts: ResultParts): Promise<number> {
  let c = 0;
  for (const blob of [parts.steps, parts.vals, parts.hidden]) {
    for (let at = 0; at < blob.byteLength; at += CRC_SLICE) {
      if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      c = crc32(blob.subarray(at, Math.min(blob.byteLength, at + CRC_SLICE)), c);
    }
  }
  return crc32(textOf(parts), c);
}
