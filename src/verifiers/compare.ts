/**
 * Constant-time equality for secrets and signatures of any length: both sides are hashed first,
 * so neither the content nor the length leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** True when `candidate` equals any of `secrets`; every secret is compared (no early exit). */
export function matchesAny(candidate: string | Buffer, secrets: readonly (string | Buffer)[]): boolean {
  let found = false;
  for (const secret of secrets) if (safeEqual(candidate, secret)) found = true;
  return found;
}

/**
 * The first of `expected` that any of `candidates` equals, or undefined. Every pair is compared
 * (no early exit), so the time taken does not say which one matched.
 */
export function findMatch(candidates: readonly string[], expected: readonly string[]): string | undefined {
  let found: string | undefined;
  for (const value of expected) {
    let hit = false;
    for (const candidate of candidates) if (safeEqual(candidate, value)) hit = true;
    if (hit && found === undefined) found = value;
  }
  return found;
}
