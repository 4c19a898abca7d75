/**
 * Job ids: 10 characters of millisecond time, 3 of a per-millisecond counter, 16 of randomness
 * (80 bits), in Crockford base32 lowercase. Ids sort in creation order within a process (and by
 * time across processes), which cursor pagination and restart ordering rely on, and cannot be
 * guessed from one another.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

let lastMs = -1;
let counter = 0;

export function newId(now = Date.now()): string {
  if (now <= lastMs) {
    counter++;
    // The counter has 15 bits; past that, borrow the next millisecond so order still holds.
    if (counter >= 32 ** 3) {
      lastMs++;
      counter = 0;
    }
  } else {
    lastMs = now;
    counter = 0;
  }
  return encode(lastMs, 10) + encode(counter, 3) + random(16);
}

function encode(value: number, length: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < length; i++) {
    out = ALPHABET[v % 32] + out;
    v = Math.floor(v / 32);
  }
  return out;
}

function random(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i] & 31];
  return out;
}

const ID_PATTERN = /^[0-9a-hjkmnp-tv-z]{29}$/;

/** True when `id` has the shape of a job id (cheap rejection of garbage before a store lookup). */
export function isJobId(id: string): boolean {
  return ID_PATTERN.test(id);
}
