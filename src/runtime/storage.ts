/**
 * Storage budgets (issue 11, defect 4; docs/ops.md, "Storage budgets"): a global budget for the
 * bytes the store keeps and a quota per API key, so that an unattended server never fills its
 * disk and one key cannot take all of it. A job is admitted only when the bytes it may store (its
 * spec, plus the engine's bound on its series, `estimateWork().seriesBytes`) fit under both, counting
 * what is stored and what queued and running jobs may still store. Refusals are problem+json before
 * anything is written: 507 GL_ERR_STORAGE_FULL for the global budget (or a disk that is really
 * full), 429 GL_ERR_QUOTA_EXCEEDED for a key's quota. Space returns as retention deletes ended jobs.
 */
import { statfsSync } from 'node:fs';
import { errors } from '../errors.js';
import type { Owner } from './types.js';

/** Bytes a stored job costs besides its series: its row (spec JSON, summary…), roughly. */
export const ROW_OVERHEAD_BYTES = 2048;
/** The global budget when none is configured: half of the free space of the data directory at start… */
const DEFAULT_FREE_SHARE = 0.5;
/** …but never more than this. */
const DEFAULT_MAX_BYTES = 20 * 2 ** 30;
/** A key's quota when none is configured: this share of the global budget. */
const DEFAULT_KEY_SHARE = 0.25;

export interface StorageLimits {
  /** Bytes the store may keep in all; null: no budget. */
  maxBytes: number | null;
  /** Bytes one owner (API key) may keep; null: no quota. */
  keyQuotaBytes: number | null;
}

/** The defaults for a data directory: half its free space (at most 20 GiB), a quarter of that per key. */
export function defaultLimits(dataDir: string | null): StorageLimits {
  if (dataDir === null) return { maxBytes: null, keyQuotaBytes: null };
  let free = DEFAULT_MAX_BYTES / DEFAULT_FREE_SHARE;
  try {
    const s = statfsSync(dataDir);
    free = s.bavail * s.bsize;
  } catch {
    // Not created yet or not statfs-able: the fixed ceiling stands.
  }
  const maxBytes = Math.floor(Math.min(DEFAULT_MAX_BYTES, free * DEFAULT_FREE_SHARE));
  return { maxBytes, keyQuotaBytes: Math.floor(maxBytes * DEFAULT_KEY_SHARE) };
}

const ownerKey = (owner: Owner) => owner ?? '';

function fmt(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = bytes;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export class StorageBudget {
  /** Stored bytes by owner. */
  private readonly stored = new Map<string, number>();
  /** Bytes reserved by admitted jobs not yet ended, by owner. */
  private readonly reserved = new Map<string, number>();
  private storedTotal = 0;
  private reservedTotal = 0;

  constructor(readonly limits: StorageLimits) {}

  /** Replaces the stored figures with what the store reports (at start, after retention). */
  reset(usage: ReadonlyMap<Owner, number>): void {
    this.stored.clear();
    this.storedTotal = 0;
    for (const [owner, bytes] of usage) {
      this.stored.set(ownerKey(owner), bytes);
      this.storedTotal += bytes;
    }
  }

  used(owner: Owner): number {
    const k = ownerKey(owner);
    return (this.stored.get(k) ?? 0) + (this.reserved.get(k) ?? 0);
  }

  usedTotal(): number {
    return this.storedTotal + this.reservedTotal;
  }

  /**
   * Reserves `bytes` for a job of `owner`, or throws (nothing reserved): QUOTA_EXCEEDED when the
   * owner's quota would be passed, STORAGE_FULL when the global budget would.
   */
  admit(owner: Owner, bytes: number): void {
    const { maxBytes, keyQuotaBytes } = this.limits;
    if (keyQuotaBytes !== null && this.used(owner) + bytes > keyQuotaBytes) {
      throw new errors.QUOTA_EXCEEDED(
        `this key stores ${fmt(this.used(owner))} (queued and running jobs included) and the job may store up to ${fmt(bytes)}; the quota per key is ${fmt(keyQuotaBytes)}. Space returns as ended jobs expire (JOB_TTL); a smaller job (fewer steps, record.every > 1, record.layers false) may fit now`,
      );
    }
    if (maxBytes !== null && this.usedTotal() + bytes > maxBytes) {
      throw new errors.STORAGE_FULL(
        `the store holds ${fmt(this.usedTotal())} (queued and running jobs included) and the job may store up to ${fmt(bytes)}; the server's storage budget is ${fmt(maxBytes)}`,
      );
    }
    this.add(this.reserved, owner, bytes);
    this.reservedTotal += bytes;
  }

  /** A reservation ends: the job stored `storedBytes` (0 when nothing was stored). */
  settle(owner: Owner, reservedBytes: number, storedBytes: number): void {
    this.add(this.reserved, owner, -reservedBytes);
    this.reservedTotal -= reservedBytes;
    this.add(this.stored, owner, storedBytes);
    this.storedTotal += storedBytes;
  }

  private add(map: Map<string, number>, owner: Owner, bytes: number): void {
    const k = ownerKey(owner);
    const next = (map.get(k) ?? 0) + bytes;
    if (next <= 0) map.delete(k);
    else map.set(k, next);
  }
}

/** True when `err` is SQLite's "database or disk is full" (SQLITE_FULL), however it was wrapped. */
export function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === 'SQLITE_FULL') return true;
  }
  return false;
}
