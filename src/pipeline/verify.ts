/** The `verify` stage of a request: the route's checks on the raw request, and its replay claims. */
import type { ServerResponse } from 'node:http';
import { HookrelayError } from '../core/errors.ts';
import type { ReplayKeys } from '../verifiers/replay.ts';
import type { FailureReason, VerifyRequest } from '../verifiers/types.ts';
import type { RouteBase } from './route.ts';

export type Refusal = { type: string; reason: string; detail: string; error: HookrelayError };

function refusal(type: string, name: string, reason: FailureReason, detail: string): Refusal {
  const code = reason === 'forbidden' ? 'HOOKRELAY_ERR_FORBIDDEN' : 'HOOKRELAY_ERR_UNAUTHORIZED';
  return { type, reason, detail, error: new HookrelayError(code, { verifier: name, reason }) };
}

/**
 * Runs the route's verifiers in order on the raw request; the first failure refuses it. Once all
 * passed, each verifier with a replay window claims the message: a message already claimed is
 * refused as replayed, and the claims are returned so the caller can release them.
 */
export async function verifyCaller(
  route: RouteBase,
  request: VerifyRequest,
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
    const release = compiled.verifier.replay!.claim(keys, now);
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
