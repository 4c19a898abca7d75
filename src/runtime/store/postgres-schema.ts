/**
 * The PostgreSQL schema of the distributed backend (docs/scaling.md): jobs, their results and
 * sweeps, in one schema, versioned as a whole. MIGRATIONS[i] takes version i to i + 1; the version
 * applied is a row per migration in `schema_migrations`.
 *
 * Every process migrates at start (`migrate`), so several API and worker processes starting at once
 * race for it: they serialise on a session advisory lock keyed by the schema name, and each one
 * applies only what is still missing, each migration in its own transaction with its version row.
 * A database newer than this build refuses to be used rather than be misread.
 */
import pg from 'pg';

export const MIGRATIONS: readonly string[] = [
  // 1: jobs and results. Ids are byte-ordered (COLLATE "C"): pages run `id < before`, newest first,
  // and must order exactly as the embedded stores do, whatever the database's locale. JSON columns
  // are `json`, not `jsonb`: they give back the text as written (key order, number spelling).
  `CREATE TABLE jobs (
     id TEXT COLLATE "C" PRIMARY KEY,
     name TEXT,
     status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
     owner TEXT,
     sweep_id TEXT,
     spec JSON NOT NULL,
     created_at TIMESTAMPTZ NOT NULL,
     started_at TIMESTAMPTZ,
     ended_at TIMESTAMPTZ,
     step INTEGER NOT NULL DEFAULT 0,
     summary JSON,
     error TEXT,
     last_seq INTEGER NOT NULL DEFAULT -1
   );
   CREATE INDEX jobs_status ON jobs (status, id);
   CREATE INDEX jobs_owner ON jobs (owner, id);
   CREATE INDEX jobs_sweep ON jobs (sweep_id, id) WHERE sweep_id IS NOT NULL;
   CREATE INDEX jobs_ended ON jobs (ended_at, id) WHERE ended_at IS NOT NULL;
   CREATE TABLE results (
     job_id TEXT COLLATE "C" PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
     shape JSON NOT NULL,
     length INTEGER NOT NULL,
     steps BYTEA NOT NULL,
     vals BYTEA NOT NULL,
     hidden BYTEA NOT NULL,
     nonfinite JSON,
     done JSON NOT NULL
   );`,
  // 2: sweeps and their cells (src/runtime/sweep/store.ts has the same tables in SQLite).
  `CREATE TABLE sweeps (
     id TEXT COLLATE "C" PRIMARY KEY,
     owner TEXT,
     name TEXT,
     status TEXT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL,
     ended_at TIMESTAMPTZ,
     request JSON NOT NULL,
     shape JSON NOT NULL,
     theory JSON NOT NULL,
     error TEXT,
     last_seq INTEGER NOT NULL
   );
   CREATE INDEX sweeps_status ON sweeps (status, id);
   CREATE INDEX sweeps_owner ON sweeps (owner, id);
   CREATE TABLE sweep_cells (
     sweep_id TEXT COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
     idx INTEGER NOT NULL,
     seq INTEGER,
     status TEXT NOT NULL,
     cell JSON NOT NULL,
     PRIMARY KEY (sweep_id, idx)
   );
   CREATE UNIQUE INDEX sweep_cells_seq ON sweep_cells (sweep_id, seq) WHERE seq IS NOT NULL;`,
  // 3: the kernels a job runs with (docs/design.md, "Exact vs FMA kernels"). The distributed backend
  // always runs exact; the column keeps the store contract the embedded stores share.
  `ALTER TABLE jobs ADD COLUMN kernels TEXT NOT NULL DEFAULT 'exact' CHECK (kernels IN ('exact', 'fma'));`,
];

/** A schema name safe to splice into SQL: PostgreSQL's unquoted identifier syntax, lower case. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)} (lower-case letters, digits, _)`);
  }
  return schema;
}

export interface PgOptions {
  /** postgres://user@host:port/database */
  connectionString: string;
  /** The schema everything lives in (created if missing); default `public`. */
  schema?: string;
  /** Connections in the pool; default 10. */
  max?: number;
  /** Gives up connecting after this long (ms); default 5000. */
  connectionTimeoutMs?: number;
}

/**
 * A pool whose every connection resolves names in `schema` first (search_path as a startup
 * option: no extra round trip, and it holds for every query on every connection).
 */
export function createPool(options: PgOptions, onError?: (err: Error) => void): pg.Pool {
  const schema = checkSchemaName(options.schema ?? 'public');
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    options: `-c search_path=${schema}`,
  });
  // An idle connection that breaks (PostgreSQL restarted, network cut) emits 'error' on the pool;
  // unhandled, that would end the process. The next query gets a fresh connection or an error.
  pool.on('error', onError ?? (() => {}));
  return pool;
}

/** Brings `schema` to the newest version; safe to call from many processes at once. */
export async function migrate(pool: pg.Pool, schemaName = 'public'): Promise<number> {
  const schema = checkSchemaName(schemaName);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // Session-level, so it spans the per-migration transactions; released below or when the
    // connection ends (a process killed mid-migration leaves no lock behind).
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`gradient-lab:migrate:${schema}`]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
           version INTEGER PRIMARY KEY,
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await client.query<{ v: number | null }>(
        `SELECT max(version) AS v FROM ${schema}.schema_migrations`,
      );
      const version = rows[0].v ?? 0;
      if (version > MIGRATIONS.length) {
        throw new Error(
          `the database schema ${schema} has version ${version}, newer than this build knows (${MIGRATIONS.length})`,
        );
      }
      for (let v = version; v < MIGRATIONS.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL search_path = ${schema}`);
          await client.query(MIGRATIONS[v]);
          await client.query(`INSERT INTO ${schema}.schema_migrations (version) VALUES ($1)`, [v + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
      return MIGRATIONS.length;
    } finally {
      await client
        .query('SELECT pg_advisory_unlock(hashtext($1))', [`gradient-lab:migrate:${schema}`])
        .catch((err: Error) => {
          // The connection is gone, and its session lock with it: drop it rather than reuse it.
          broken = err;
        });
    }
  } finally {
    client.release(broken);
  }
}

/**
 * Read-your-writes on a pool. Writes run on any free connection, so two writes issued one after
 * the other could reach PostgreSQL in either order: writes under the same key (a job, a sweep) are
 * chained, writes under different keys run in parallel, and a read first waits for the writes
 * issued before it (under its key, or all of them).
 */
export class OrderedWrites {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly before: Promise<unknown>) {}

  /** Runs `write` once every write issued earlier under `key` has settled. */
  run<T>(key: string, write: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(key) ?? this.before;
    const done = previous.catch(() => {}).then(write);
    this.chains.set(key, done);
    const forget = () => {
      if (this.chains.get(key) === done) this.chains.delete(key);
    };
    done.then(forget, forget);
    return done;
  }

  /** Settles once the writes issued so far under `key` (or under every key) have settled. */
  async settled(key?: string): Promise<void> {
    if (key !== undefined) await this.chains.get(key)?.catch(() => {});
    else if (this.chains.size) await Promise.allSettled([...this.chains.values()]);
  }
}

/** Runs `work` in a transaction on one connection of `pool`. */
export async function inTransaction<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const out = await work(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => {
      // Could not even roll back: the connection is gone; the pool must not hand it out again.
      broken = e;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
