/**
 * Which backend and which role a process runs (docs/scaling.md), from the environment:
 *
 *   REDIS_URL + DATABASE_URL   both set  → the distributed backend (Redis, PostgreSQL)
 *                              neither   → embedded (in-process queue, worker threads, SQLite)
 *                              one alone → refused at start, naming the variable that is missing
 *   ROLE                       all (default: API and worker in one process) | api | worker;
 *                              api and worker only mean something with the distributed backend
 *   DATABASE_SCHEMA            PostgreSQL schema of every table (default public)
 *   REDIS_PREFIX               prefix of every Redis key (default gl:)
 *
 * Kept apart from src/config.ts so that the rest of the configuration does not depend on it;
 * `loadConfig` calls `parseDeployment` and reports its problems with its own (ConfigError).
 */
import { z } from 'zod';

export type Role = 'all' | 'api' | 'worker';

export type Deployment =
  | { backend: 'embedded'; role: 'all' }
  | {
      backend: 'distributed';
      role: Role;
      redisUrl: string;
      databaseUrl: string;
      databaseSchema: string;
      redisPrefix: string;
    };

export interface DeploymentProblem {
  variable: string;
  message: string;
}

const blank = (v: string | undefined) => v === undefined || v.trim() === '';

const urlWithScheme = (schemes: string[], example: string) =>
  z.string().refine(
    (s) => {
      try {
        return schemes.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL like ${example}` },
  );

const Fields = z.object({
  REDIS_URL: urlWithScheme(['redis:', 'rediss:'], 'redis://host:6379'),
  DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:'], 'postgres://user@host:5432/database'),
  ROLE: z.enum(['all', 'api', 'worker'], { message: 'must be one of all, api, worker' }).default('all'),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a lower-case identifier (letters, digits, _)' })
    .default('public'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_:.-]{1,64}$/, { message: 'must be 1–64 of A–Z a–z 0–9 _ : . -' })
    .default('gl:'),
});

/** The deployment the environment asks for, or every problem with it (each naming its variable). */
export function parseDeployment(
  env: Record<string, string | undefined>,
): { ok: true; deployment: Deployment } | { ok: false; problems: DeploymentProblem[] } {
  const get = (name: string) => (blank(env[name]) ? undefined : env[name]!.trim());
  const redis = get('REDIS_URL');
  const database = get('DATABASE_URL');
  const problems: DeploymentProblem[] = [];
  if (redis !== undefined && database === undefined) {
    problems.push({
      variable: 'DATABASE_URL',
      message: 'REDIS_URL is set but DATABASE_URL is not: the distributed backend needs both (or unset REDIS_URL)',
    });
  }
  if (database !== undefined && redis === undefined) {
    problems.push({
      variable: 'REDIS_URL',
      message: 'DATABASE_URL is set but REDIS_URL is not: the distributed backend needs both (or unset DATABASE_URL)',
    });
  }
  const role = get('ROLE');
  if (redis === undefined && database === undefined) {
    if (role !== undefined && role !== 'all') {
      problems.push({
        variable: 'ROLE',
        message: `ROLE=${role} needs the distributed backend (set REDIS_URL and DATABASE_URL); embedded runs ROLE=all`,
      });
    }
    return problems.length ? { ok: false, problems } : { ok: true, deployment: { backend: 'embedded', role: 'all' } };
  }
  const parsed = Fields.safeParse({
    REDIS_URL: redis ?? 'redis://placeholder',
    DATABASE_URL: database ?? 'postgres://placeholder',
    ROLE: role,
    DATABASE_SCHEMA: get('DATABASE_SCHEMA'),
    REDIS_PREFIX: get('REDIS_PREFIX'),
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push({ variable: String(issue.path[0]), message: issue.message });
  }
  if (problems.length || !parsed.success) return { ok: false, problems };
  const f = parsed.data;
  return {
    ok: true,
    deployment: {
      backend: 'distributed',
      role: f.ROLE,
      redisUrl: f.REDIS_URL,
      databaseUrl: f.DATABASE_URL,
      databaseSchema: f.DATABASE_SCHEMA,
      redisPrefix: f.REDIS_PREFIX,
    },
  };
}
