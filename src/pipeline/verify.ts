/** The `verify` stage of a request: the route's checks on the raw request, and its replay claims. */
import type { ServerResponse } from 'node:http';
import { HookrelayError } from '../core/errors.ts';
import { type ReplayKeys, replayNames, type SharedReplayStore } from '../verifiers/replay.ts';
import type { FailureReason, VerifyRequest } from '../verifiers/types.ts';
import type { RouteBase } from './route.ts';

export type Refusal = { type: string; reason: string; detail: string; error: HookrelayError };

function refusal(type: string, name: string, reason: FailureReason, detail: string): Refusal {
  const code = reason === 'forbidden' ? 'HOOKRELAY_ERR_FORBIDDEN' : 'HOOKRELAY_ERR_UNAUTHORIZED';
  return { type, reason, detail, error: new HookrelayError(code, { verifier: name, reason }) };
}

/** Retry-After (s) when the shared replay window could not be asked: short, Redis may be back soon. */
export const REPLAY_UNAVAILABLE_RETRY_AFTER = 5;

type Claimed = (() => void) | undefined;
type Compiled = RouteBase['verify'][number];

/**
 * One verifier's claim: in its own window (this process), or in the shared store (every instance)
 * under a scope of the route and the verifier's place in it.
 */
function claim(
  route: RouteBase,
  compiled: Compiled,
  keys: ReplayKeys,
  now: number,
  shared?: SharedReplayStore,
) {
  const window = compiled.verifier.replay!;
  if (shared === undefined) return window.claim(keys, now);
  const names = replayNames(keys);
  if (names.length === 0) return () => {};
  return shared.claim(`${route.id}:${compiled.info.index}`, names, window.windowMs);
}

/**
 * Runs the route's verifiers in order on the raw request; the first failure refuses it. Once all
 * passed, each verifier with a replay window claims the message (in `shared` when given, the
 * window every instance sees): a message already claimed is refused as replayed, and the claims
 * are returned so the caller can release them. A shared store that cannot be asked refuses the
 * call with 503 (fail closed: the sender retries; a replay is never let through for want of it).
 */
export async function verifyCaller(
  route: RouteBase,
  request: VerifyRequest,
  shared?: SharedReplayStore,
): Promise<{ refused: Refusal } | { releases: (() => void)[] }> {
  const now = Date.now();
  const toClaim: { compiled: RouteBase['verify'][number]; keys: ReplayKeys }[] = [];
  for (const compiled of route.verify) {
    const result = await compiled.verifier.verify(request, now);
    if (!result.ok)
      return { refused: refusal(compiled.type, compiled.info.name, result.reason, result.detail) };
    if (compiled.verifier.replay) toClaim.push({ compiled, keys: result });
  }
  const releases: (() => void)[] = [];
  for (const { compiled, keys } of toClaim) {
    let release: Claimed;
    try {
      release = await claim(route, compiled, keys, now, shared);
    } catch (error) {
      for (const undo of releases) undo();
      const reason = error instanceof Error ? error.message : String(error);
      const detail = `the shared replay window could not be asked: ${reason}`;
      const refused = new HookrelayError('HOOKRELAY_ERR_REPLAY_UNAVAILABLE', {
        verifier: compiled.info.name,
        retryAfter: REPLAY_UNAVAILABLE_RETRY_AFTER,
      });
      return { refused: { type: compiled.type, reason: 'unavailable', detail, error: refused } };
    }
    if (!release) {
      for (const undo of releases) undo();
      const detail = 'message already seen within the replay window';
      return { refused: refusal(compiled.type, compiled.info.name, 'replayed', detail) };
    }
    releases.push(release);
  }
  return { releases };
}

/**
 * A message stays remembered only when the caller got a 2xx: after a 5xx (target down) or any
 * other refusal, or when the connection dies first, the sender retries with the same id.
 */
export function releaseUnlessAccepted(res: ServerResponse, releases: (() => void)[]): void {
  const release = () => {
    for (const undo of releases) undo();
  };
  res.once('finish', () => {
    if (res.statusCode < 200 || res.statusCode >= 300) release();
  });
  res.once('close', () => {
    if (!res.writableFinished) release();
  });
}
