import type { z } from 'zod';
import type { RouteConfig } from './schema.ts';

/**
 * Route keys that have no effect in the route's delivery mode are errors naming the key and what
 * to use instead, so a setting is never silently ignored (stream routes have their own list in
 * schema.ts). Only what the user wrote on the route counts: `queue` has no defaults in the parsed
 * route (the compiler fills them in), and `defaults:` applies to every route and is never checked.
 *
 * Which key applies where, from the code paths:
 *   retry.attempts, minDelay, maxDelay, maxRetryAfter  sync, and the synchronous phase of hybrid;
 *                                                      queued attempts use queue.maxAttempts,
 *                                                      minDelay, maxDelay, maxRetryAfter
 *   retry.factor, jitter, retryOn                      every buffered mode, queued attempts too
 *   timeouts.deadline                                  sync only (hybrid: hybrid.budget; queued
 *                                                      attempts: queue.maxAge)
 *   timeouts.connect, attempt; limits.*                every buffered mode (limits.response also
 *                                                      bounds what a worker reads)
 *   response (steps on the target's answer)            sync and hybrid: an async caller is
 *                                                      answered before the target is called
 *   queue                                              async and hybrid
 *   an echo route                                      forwards nothing: no delivery key applies
 */

/** What the checks read of a route; fields may hold any value when others failed validation. */
type Route = Partial<Record<keyof RouteConfig, unknown>> & {
  retry?: unknown;
  timeouts?: unknown;
  limits?: unknown;
};

function has(value: unknown, key: string): boolean {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[key] !== undefined;
}

const ECHO_KEYS: readonly (readonly [string, ...string[]])[] = [
  ['transform'],
  ['response'],
  ['respond'],
  ['retry'],
  ['timeouts'],
  ['limits', 'response'],
  ['limits', 'jsonDepth'],
];

export function checkModeKeys(route: Route, ctx: z.core.$RefinementCtx): void {
  const add = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (route.echo === true) {
    for (const path of ECHO_KEYS) {
      const [key, sub] = path;
      const value = (route as Record<string, unknown>)[key];
      if (sub === undefined ? value !== undefined : has(value, sub)) {
        add([...path], 'does not apply to an echo route (it answers itself and forwards nothing)');
      }
    }
    return;
  }
  const mode = route.delivery ?? 'sync';
  const refuse = (path: string[], why: string) =>
    add(path, `does not apply to \`delivery: ${String(mode)}\` (${why})`);
  switch (mode) {
    case 'sync':
      if (route.queue !== undefined) {
        refuse(['queue'], 'nothing is queued: set `delivery: async` or `hybrid`');
      }
      return;
    case 'hybrid':
      if (has(route.timeouts, 'deadline')) {
        refuse(
          ['timeouts', 'deadline'],
          'the caller waits at most `hybrid.budget`, then the webhook is queued: use that',
        );
      }
      return;
    case 'async': {
      const nobody = 'nobody waits for a queued delivery';
      const retry: [string, string][] = [
        ['attempts', `${nobody}: use \`queue.maxAttempts\`; \`queue.maxAge\` bounds it too`],
        ['minDelay', 'queued retries back off from `queue.minDelay`: use that'],
        ['maxDelay', 'queued retries back off up to `queue.maxDelay`: use that'],
        ['maxRetryAfter', 'use `queue.maxRetryAfter`'],
      ];
      for (const [key, why] of retry) if (has(route.retry, key)) refuse(['retry', key], why);
      if (has(route.timeouts, 'deadline')) {
        refuse(
          ['timeouts', 'deadline'],
          `${nobody}: \`queue.maxAge\` bounds how long it is retried, \`timeouts.attempt\` each attempt`,
        );
      }
      if (route.response !== undefined) {
        refuse(
          ['response'],
          "the caller is answered before the target is called, so the target's answer reaches nobody; `respond` sets the caller's answer",
        );
      }
      return;
    }
  }
}
