/**
 * A route's `targets` (fan-out, docs/routing.md#fan-out): named targets, each with its own
 * `forward` block, transform steps after the route's, condition, retry policy and queue settings,
 * and the rules that tie them to the route's delivery mode (which keys apply to a target of an
 * async or a sync route, one primary, unique names). Built from the route's `forward` schema,
 * which route-schema.ts passes in (it owns it; importing it back here would be a cycle).
 */
import { z } from 'zod';
import { type ConfigCode, configCode } from '../core/config-codes.ts';
import { targetQueue } from '../modes/async/schema.ts';
import { parseUrlTemplate } from '../pipeline/url-template.ts';
import { transformSchema } from '../transforms/index.ts';
import { conditionSchema } from './condition-schema.ts';
import { retry } from './defaults-schema.ts';

/** A target's name: a label in metrics, and part of its deliveries' route id (`<route>/<name>`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function targetsSchema<F extends z.ZodType>(forward: F) {
  const target = z
    .strictObject({
      name: z
        .string()
        .regex(NAME, { message: 'must be 1-64 letters, digits, ".", "_" or "-" (it is a metrics label)' })
        .meta({
          description:
            'Names the target in rules (`target:`), `hookrelay try`/`test` and its queued deliveries, whose route id is `<route id>/<name>`.',
          example: 'erp',
        }),
      forward,
      transform: z.array(transformSchema).min(1).optional().meta({
        description:
          "Steps run after the route's own `transform`, on its result, for this target only (e.g. `xml-out` for a target that wants XML).",
      }),
      when: conditionSchema.optional().meta({
        description:
          "This target gets the call only when the condition holds (same form as a rule's `when`, on the body after the route's `transform`). Without it, always. A rule's `target:` overrides every `when`.",
      }),
      retry: retry.optional().meta({
        description:
          "This target's retry policy, over the route's `retry` (a key left out keeps the route's value); on an `async` route the same keys apply as on the route (its queued backoff is in `queue`).",
      }),
      queue: targetQueue,
      primary: z.boolean().optional().meta({
        description:
          '`sync` routes: the target whose answer the caller gets (default: the first). The other targets chosen for a call are queued once the primary accepted it. Not on `async` routes (every target is queued).',
      }),
    })
    .meta({ description: 'One target of a fan-out route.' });
  return z.array(target).min(1).meta({
    description:
      'Instead of `forward`: several named targets, each called with its own request (see docs/routing.md#fan-out). On an `async` route each target is its own durable delivery (route id `<route>/<name>`) and the caller is acknowledged once every copy is stored; on a `sync` route the primary answers the caller and the others are queued. Not on `hybrid`, `stream` or echo routes.',
  });
}

/** What checkTargets reads of a route, as the user wrote it (other fields may have failed). */
interface TargetsInput {
  targets?: unknown;
  forward?: unknown;
  echo?: unknown;
  delivery?: unknown;
  rules?: unknown;
}

interface TargetInput {
  name?: unknown;
  primary?: unknown;
  queue?: unknown;
  retry?: Record<string, unknown>;
  forward?: { url?: unknown };
}

const add = (ctx: z.core.$RefinementCtx, path: (string | number)[], message: string, code: ConfigCode) =>
  ctx.addIssue({ code: 'custom', path, message, params: configCode(code) });

/** The queued backoff replaces these on a queued target (as on an async route). */
const SYNC_ONLY_RETRY: [string, string][] = [
  ['attempts', 'use `queue.maxAttempts`'],
  ['minDelay', 'queued retries back off from `queue.minDelay`'],
  ['maxDelay', 'queued retries back off up to `queue.maxDelay`'],
  ['maxRetryAfter', 'use `queue.maxRetryAfter`'],
];

/**
 * The checks across a route's targets: exactly one of `forward`, `targets`, `echo`; not on
 * hybrid or stream; unique names; the keys of each target that apply under the route's mode;
 * each target URL's `{param}` names the route's path parameters.
 */
export function checkTargets(
  route: TargetsInput,
  ctx: z.core.$RefinementCtx,
  path: { params: string[]; prefix: boolean },
): void {
  const ways = [route.forward !== undefined, route.targets !== undefined, route.echo === true];
  if (ways.filter(Boolean).length !== 1) {
    add(
      ctx,
      [],
      'a route needs exactly one of `forward`, `targets` or `echo: true`',
      'HOOKRELAY_CONFIG_CONFLICT',
    );
  }
  if (!Array.isArray(route.targets) || route.echo === true) return;
  const delivery = typeof route.delivery === 'string' ? route.delivery : 'sync';
  if (delivery === 'stream' || delivery === 'hybrid') {
    const why =
      delivery === 'stream'
        ? 'the body is streamed once to one target and never kept, so it cannot be sent to several'
        : 'use `delivery: async` (every target queued) or `sync` (the primary answers, the others queued)';
    add(
      ctx,
      ['targets'],
      `does not apply to \`delivery: ${delivery}\` (${why})`,
      'HOOKRELAY_CONFIG_CONFLICT',
    );
    return;
  }
  const targets = route.targets as TargetInput[];
  const names = new Set<string>();
  const marked = targets.flatMap((t, i) => (t?.primary === true ? [i] : []));
  const primary = marked[0] ?? 0;
  for (const [i, target] of targets.entries()) {
    if (typeof target !== 'object' || target === null) continue;
    if (typeof target.name === 'string') {
      if (names.has(target.name)) {
        add(
          ctx,
          ['targets', i, 'name'],
          `target '${target.name}' is already defined on this route`,
          'HOOKRELAY_CONFIG_DUPLICATE',
        );
      }
      names.add(target.name);
    }
    if (typeof target.forward?.url === 'string') {
      try {
        parseUrlTemplate(target.forward.url, path.params, path.prefix);
      } catch (error) {
        add(
          ctx,
          ['targets', i, 'forward', 'url'],
          (error as Error).message,
          'HOOKRELAY_CONFIG_INVALID_FORMAT',
        );
      }
    }
    if (delivery === 'async') {
      if (target.primary !== undefined) {
        add(
          ctx,
          ['targets', i, 'primary'],
          'does not apply to `delivery: async` (every target is queued; the caller is acknowledged once every copy is stored)',
          'HOOKRELAY_CONFIG_CONFLICT',
        );
      }
      for (const [key, why] of SYNC_ONLY_RETRY) {
        if (target.retry?.[key] !== undefined) {
          add(
            ctx,
            ['targets', i, 'retry', key],
            `does not apply to a target of an \`async\` route (${why})`,
            'HOOKRELAY_CONFIG_CONFLICT',
          );
        }
      }
    } else if (delivery === 'sync') {
      if (marked.length > 1 && i !== marked[0] && target.primary === true) {
        add(
          ctx,
          ['targets', i, 'primary'],
          `only one target can be the primary (target ${marked[0]} already is): its answer is the caller's`,
          'HOOKRELAY_CONFIG_CONFLICT',
        );
      }
      if (i === primary && target.queue !== undefined) {
        add(
          ctx,
          ['targets', i, 'queue'],
          `does not apply to the primary target${marked.length === 0 ? ' (the first, as none has `primary: true`)' : ''}: it is delivered while the caller waits, never queued`,
          'HOOKRELAY_CONFIG_CONFLICT',
        );
      }
    }
  }
  checkRuleTargets(route.rules, names, ctx);
}

/** A rule's `target:` names one of the route's targets. */
function checkRuleTargets(rules: unknown, names: ReadonlySet<string>, ctx: z.core.$RefinementCtx): void {
  if (!Array.isArray(rules)) return;
  for (const [index, rule] of (rules as { target?: unknown }[]).entries()) {
    if (typeof rule?.target !== 'string' || names.has(rule.target)) continue;
    add(
      ctx,
      ['rules', index, 'target'],
      `names no target of this route: '${rule.target}' (targets: ${[...names].join(', ')})`,
      'HOOKRELAY_CONFIG_INVALID_VALUE',
    );
  }
}
