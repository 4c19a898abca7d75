/**
 * The job row as the SQL stores (SQLite and PostgreSQL) write it: one column per StoredJob field,
 * snake_case, spec and summary as JSON text (PostgreSQL casts it to jsonb). Reading differs per
 * driver (SQLite returns text, pg returns parsed jsonb and Dates), so each store keeps its fromRow.
 */
import type { StoredJob } from './types.js';

export interface JobWriteRow {
  id: string;
  name: string | null;
  status: string;
  owner: string | null;
  sweep_id: string | null;
  spec: string;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  step: number;
  summary: string | null;
  error: string | null;
  last_seq: number;
  kernels: string;
}

export function toRow(job: StoredJob): JobWriteRow {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    owner: job.owner,
    sweep_id: job.sweepId,
    spec: JSON.stringify(job.spec),
    created_at: job.createdAt,
    started_at: job.startedAt,
    ended_at: job.endedAt,
    step: job.step,
    summary: job.summary ? JSON.stringify(job.summary) : null,
    error: job.error,
    last_seq: job.lastSeq,
    kernels: job.kernels,
  };
}

/** A typed array's bytes as a Buffer, without copying (what both drivers bind for a BLOB/BYTEA). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
