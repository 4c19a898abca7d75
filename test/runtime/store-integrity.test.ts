/**
 * Issue 11, defect 7: a damaged store is noticed. A 0-byte, foreign, schema-less or corrupted
 * jobs.db is refused at start with its name and what to do; garbage written into a result blob
 * (which PRAGMA integrity_check does not see) fails the result's checksum on read, and the result
 * is recomputed from its spec, bit-identical, written back, logged and counted.
 */
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { metrics } from '../../src/http/ops.js';
import {
  integrityStats,
  resultChecksum,
  resultChecksumAsync,
  StoreRefusedError,
} from '../../src/runtime/store/integrity.js';
import { DB_FILE, SqliteJobStore } from '../../src/runtime/store/sqlite.js';
import { collect, Fixture, jsonResult, longSpec, spec, until } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

function refusalOf(dir: string): StoreRefusedError {
  try {
    new SqliteJobStore(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(StoreRefusedError);
    return err as StoreRefusedError;
  }
  throw new Error('the store opened');
}

describe('refused at start', () => {
  it('an existing 0-byte jobs.db, naming the file and what to do', () => {
    const dir = fx.tempDir();
    writeFileSync(join(dir, DB_FILE), '');
    const err = refusalOf(dir);
    expect(err.message).toContain(join(dir, DB_FILE));
    expect(err.message).toContain('empty (0 bytes)');
    expect(err.message).toMatch(/Restore the file from a backup, or move it aside/);
    // Refused, not replaced: the file is left as it was.
    expect(readFileSync(join(dir, DB_FILE)).byteLength).toBe(0);
  });

  it('a file that is not a SQLite database', () => {
    const dir = fx.tempDir();
    writeFileSync(join(dir, DB_FILE), 'not a database at all, just some text\n'.repeat(100));
    expect(refusalOf(dir).message).toContain('not a SQLite database');
  });

  it('a SQLite database without our schema', () => {
    const dir = fx.tempDir();
    const db = new Database(join(dir, DB_FILE));
    db.exec('CREATE TABLE something_else (x INTEGER)');
    db.close();
    expect(refusalOf(dir).message).toContain('holds no Gradient Lab schema');
  });

  it('a store whose tables lack a column this build reads', async () => {
    const dir = fx.tempDir();
    await new SqliteJobStore(dir).close();
    const db = new Database(join(dir, DB_FILE));
    db.exec('ALTER TABLE jobs DROP COLUMN summary');
    db.close();
    expect(refusalOf(dir).message).toContain('the table "jobs" lacks the columns summary');
  });

  it("64 KiB of garbage inside jobs.db (the issue's repro)", async () => {
    const dir = fx.tempDir();
    const rt = await fx.runtime({ dataDir: dir });
    for (let i = 0; i < 6; i++) {
      const job = await rt.submit(spec({ training: { steps: 2000, learningRate: 0.01 } }), null);
      await collect(rt, job.id);
    }
    await rt.close();
    const file = join(dir, DB_FILE);
    const size = readFileSync(file).byteLength;
    expect(size).toBeGreaterThan(128 * 1024);
    // From the second page on (the first holds the header and the schema).
    const garbage = Buffer.alloc(64 * 1024);
    let x = 12345;
    for (let i = 0; i < garbage.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      garbage[i] = x >>> 24;
    }
    const fd = openSync(file, 'r+');
    writeSync(fd, garbage, 0, garbage.length, 16_384);
    closeSync(fd);
    const err = refusalOf(dir);
    expect(err.message).toContain(file);
    expect(err.message).toContain('the database is damaged');
  });
});

/** Overwrites 4 KiB inside the stored `vals` blob of `jobId`, in the file itself. */
function damageBlob(file: string, jobId: string): void {
  const db = new Database(file, { readonly: true });
  const { vals } = db.prepare('SELECT vals FROM results WHERE job_id = ?').get(jobId) as { vals: Buffer };
  db.close();
  const bytes = readFileSync(file);
  // A 256-byte run from the middle of the blob locates it in the file; the garbage then stays within
  // one 16 KB page and clear of its 4-byte overflow pointer, so SQLite's own checks see nothing.
  // A run that straddles two overflow pages is not contiguous in the file: try further along.
  let at = -1;
  for (let from = vals.byteLength >> 1; at < 0 && from + 256 <= vals.byteLength; from += 1024) {
    at = bytes.indexOf(vals.subarray(from, from + 256));
  }
  expect(at).toBeGreaterThan(0);
  // From the probe on, to at most 4 KiB and never past the probe's page: all of it blob bytes.
  const pageEnd = at - (at % 16_384) + 16_384;
  const length = Math.min(4096, pageEnd - at);
  expect(length).toBeGreaterThanOrEqual(256);
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(length, 0x5a), 0, length, at);
  closeSync(fd);
  const check = new Database(file, { readonly: true });
  expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
  check.close();
}

describe('a damaged result blob', () => {
  it.each([
    ['succeeded', false],
    ['cancelled', true],
  ])(
    'of a %s job is detected on read, recomputed from its spec and repaired',
    async (_, cancel) => {
      const dir = fx.tempDir();
      const file = join(dir, DB_FILE);
      const rt = await fx.runtime({ dataDir: dir });
      const job = cancel
        ? await rt.submit(longSpec(200_000), null)
        : await rt.submit(spec({ training: { steps: 3000, learningRate: 0.01 } }), null);
      if (cancel) {
        await until(rt, job.id, (e) => e.type === 'step' && e.step >= 1500);
        await rt.cancel(job.id, null);
      }
      await collect(rt, job.id);
      const before = (await jsonResult(rt, job.id, null))!;
      expect(before.job.status).toBe(cancel ? 'cancelled' : 'succeeded');
      if (cancel) expect(before.job.progress.step).toBeLessThan(200_000);
      await rt.close();

      damageBlob(file, job.id);
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
      const damaged0 = integrityStats.damagedResults;
      const repaired0 = integrityStats.repairedResults;
      // A store opened alone reads the damaged bytes as they are: proof the damage is real.
      const raw = new Database(file, { readonly: true });
      const crcRow = raw.prepare('SELECT crc FROM results WHERE job_id = ?').get(job.id) as { crc: number };
      raw.close();
      expect(typeof crcRow.crc).toBe('number');

      const again = await fx.runtime({ dataDir: dir, logger });
      const after = (await jsonResult(again, job.id, null))!;
      expect(JSON.stringify(after.series)).toBe(JSON.stringify(before.series));
      expect(after.summary).toEqual(before.summary);
      expect(integrityStats.damagedResults).toBe(damaged0 + 1);
      expect(integrityStats.repairedResults).toBe(repaired0 + 1);
      const logged = lines.map((l) => JSON.parse(l) as { msg: string; jobId?: string });
      expect(logged.some((l) => l.msg.includes('fails its checksum') && l.jobId === job.id)).toBe(true);
      expect(logged.some((l) => l.msg.includes('repaired') && l.jobId === job.id)).toBe(true);
      const metric = await metrics.registry.getSingleMetricAsString('gradient_lab_store_results_repaired_total');
      expect(metric).toContain(`gradient_lab_store_results_repaired_total ${repaired0 + 1}`);
      // The events replay the repaired numbers too.
      const events = await collect(again, job.id);
      expect(events.at(-1)?.type).toBe('done');
      await again.close();

      // Written back: a fresh process reads it without another repair.
      const third = await fx.runtime({ dataDir: dir });
      expect(JSON.stringify((await jsonResult(third, job.id, null))!.series)).toBe(JSON.stringify(before.series));
      expect(integrityStats.damagedResults).toBe(damaged0 + 1);
    },
    120_000,
  );

  it('a result stored before checksums existed is verified from then on', async () => {
    const dir = fx.tempDir();
    const file = join(dir, DB_FILE);
    const rt = await fx.runtime({ dataDir: dir });
    const job = await rt.submit(spec(), null);
    await collect(rt, job.id);
    await rt.close();
    const db = new Database(file);
    db.prepare('UPDATE results SET crc = NULL WHERE job_id = ?').run(job.id);
    db.close();
    const store = new SqliteJobStore(dir);
    expect(await store.getResult(job.id)).not.toBeNull();
    await store.close();
    const check = new Database(file, { readonly: true });
    expect((check.prepare('SELECT crc FROM results WHERE job_id = ?').get(job.id) as { crc: unknown }).crc).toEqual(
      expect.any(Number),
    );
    check.close();
  });
});

it('the sliced checksum of a large result equals the one-shot checksum', async () => {
  const vals = new Uint8Array(9 * 2 ** 20 + 123).map((_, i) => (i * 2654435761) >>> 24);
  const parts = {
    shape: '{"layerNames":[],"layerCount":1,"hiddenLength":0}',
    length: 42,
    steps: new Uint8Array(168).fill(7),
    vals,
    hidden: new Uint8Array(0),
    nonfinite: null,
    done: '{"type":"done"}',
  };
  expect(await resultChecksumAsync(parts)).toBe(resultChecksum(parts));
  expect(resultChecksum({ ...parts, nonfinite: '' })).not.toBe(resultChecksum(parts));
});
