/**
 * `headers`: set outbound headers from `{{ … }}` templates over the request (`body.event`,
 * `params.tenant`, `headers.x-erp-system`, `query.id`, …) and remove others. Templates are
 * compiled at config load; a rendered value that could split the header (CR, LF) or is otherwise
 * not a valid field value fails the request with 422, so header injection is impossible.
 */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { headerName } from '../core/fields.ts';
import { HOP_BY_HOP } from '../core/headers.ts';
import type { Plugin } from '../core/registry.ts';
import {
  compileTemplate,
  emptyScope,
  renderTemplate,
  requestScope,
  type Template,
  type TemplateScope,
} from '../core/text-template.ts';
import { failed } from './errors.ts';
import { payloadValue } from './payload.ts';
import type { StepInfo, TransformContext, TransformStep } from './types.ts';

/** Written by hookrelay or the HTTP client for each connection and body: never set by a step. */
const MANAGED = new Set([...HOP_BY_HOP, 'content-length', 'host']);
/** RFC 9110 §5.5 field-value characters as Node accepts them: HTAB, visible ASCII, SP, obs-text. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Check names and templates even when another field failed, so every problem is reported at once. */
const evenAfterErrors = {
  when: (payload: z.core.ParsePayload) => typeof payload.value === 'object' && payload.value !== null,
};

const schema = z
  .strictObject({
    type: z.literal('headers'),
    set: z
      .record(headerName, z.string())
      .default({})
      .meta({
        description:
          'Header name → value to send. A value is a template: `{{ body.a.b }}` (the body as the previous steps left it), `{{ query.x }}`, `{{ params.x }}`, `{{ headers.x }}`, `{{ method }}`, `{{ path }}`, `{{ requestId }}`. Replaces a caller or `forward.headers` header of the same name.',
        example: { 'X-Event-Type': '{{ body.event }}', 'X-Tenant': '{{ params.tenant }}' },
      }),
    remove: z
      .array(headerName)
      .default([])
      .meta({
        description: 'Headers not to forward (caller headers or `forward.headers`).',
        example: ['x-internal'],
      }),
    keepEmpty: z.boolean().default(false).meta({
      description:
        'Send a header whose template renders to an empty string (e.g. a missing body field) with an empty value. Off: the header is left out of the forwarded request altogether.',
      example: true,
    }),
  })
  .superRefine((config, issues) => {
    // May run after other fields failed (see `evenAfterErrors`): read only values of the right type.
    const set = isRecord(config.set) ? config.set : {};
    const remove = Array.isArray(config.remove) ? config.remove : [];
    const seen = new Map<string, string>();
    for (const [name, value] of Object.entries(set)) {
      const lower = name.toLowerCase();
      const path = ['set', name];
      if (MANAGED.has(lower)) {
        issues.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_RESERVED'),
          path,
          message: `'${name}' is managed by hookrelay and the HTTP client, it cannot be set`,
        });
      }
      const other = seen.get(lower);
      if (other !== undefined) {
        issues.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_DUPLICATE'),
          path,
          message: `'${name}' is the same header as '${other}'`,
        });
      }
      seen.set(lower, name);
      if (typeof value !== 'string') continue;
      try {
        const template = compileTemplate(value);
        for (const part of template.parts) {
          if (!('literal' in part)) continue;
          // compileTemplate leaves an unbalanced `{{ body.x }` as text; in a header it is a typo.
          if (part.literal.includes('{{') || part.literal.includes('}}')) {
            issues.addIssue({
              code: 'custom',
              params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
              path,
              message: 'has an unbalanced `{{` or `}}`',
            });
            break;
          }
          const bad = INVALID_VALUE.exec(part.literal);
          if (bad) {
            issues.addIssue({
              code: 'custom',
              params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
              path,
              message: `contains ${describeChar(bad[0])}, which a header value cannot hold`,
            });
            break;
          }
        }
      } catch (error) {
        issues.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_EXPRESSION'),
          path,
          message: (error as Error).message,
        });
      }
    }
    remove.forEach((name, index) => {
      if (typeof name === 'string' && seen.has(name.toLowerCase())) {
        issues.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
          path: ['remove', index],
          message: `'${name}' is also in \`set\`: set it or remove it`,
        });
      }
    });
    if (isRecord(config.set) && Array.isArray(config.remove) && seen.size === 0 && remove.length === 0) {
      issues.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_MISSING_KEY'),
        path: [],
        message: 'set or remove at least one header',
      });
    }
  }, evenAfterErrors)
  .meta({
    title: 'headers',
    description:
      'Set outbound headers from templates over the request (e.g. `X-Event-Type` from a body field) and remove others. A rendered value with CR, LF or another character not allowed in a header fails the request with 422. Set headers replace caller and `forward.headers` ones; a later step overrides an earlier one.',
  });

export type HeadersConfig = z.output<typeof schema>;

/**
 * What a `headers` step does to a header whatever the request: values without `{{ }}` (set, or
 * removed when empty and not `keepEmpty`), names whose value depends on the request, and removals.
 * The queue uses it to apply configured values at each attempt instead of storing them.
 */
export function staticHeaderEdits(config: HeadersConfig): {
  set: Record<string, string>;
  dynamic: string[];
  remove: string[];
} {
  const set: Record<string, string> = {};
  const dynamic: string[] = [];
  const remove = config.remove.map((name) => name.toLowerCase());
  for (const [name, text] of Object.entries(config.set)) {
    const lower = name.toLowerCase();
    const template = compileTemplate(text);
    if (!template.isStatic) {
      dynamic.push(lower);
      continue;
    }
    const value = renderTemplate(template, EMPTY_SCOPE).replace(EDGES, '');
    if (value === '' && !config.keepEmpty) remove.push(lower);
    else set[lower] = value;
  }
  return { set, dynamic, remove };
}

interface Setter {
  name: string;
  template: Template;
  /** The value when the template has no `{{ }}`, checked at load. */
  fixed: string | undefined;
}

export const headersTransform: Plugin<typeof schema, TransformStep> = {
  type: 'headers',
  description: 'Set (templated) or remove outbound headers.',
  schema,
  create(config: HeadersConfig, info?: StepInfo): TransformStep {
    const step = info?.name ?? 'headers';
    const setters: Setter[] = Object.entries(config.set).map(([name, text]) => {
      const template = compileTemplate(text);
      return {
        name: name.toLowerCase(),
        template,
        fixed: template.isStatic ? renderTemplate(template, EMPTY_SCOPE).replace(EDGES, '') : undefined,
      };
    });
    const remove = config.remove.map((name) => name.toLowerCase());
    const { keepEmpty } = config;
    return {
      run(ctx: TransformContext) {
        const scope = setters.some((s) => s.fixed === undefined) ? scopeOf(ctx, step) : EMPTY_SCOPE;
        const rendered: [string, string][] = [];
        for (const { name, template, fixed } of setters) {
          const value = fixed ?? renderTemplate(template, scope).replace(EDGES, '');
          const bad = INVALID_VALUE.exec(value);
          if (bad) {
            throw failed(
              step,
              `header '${name}' would contain ${describeChar(bad[0])}, which a header value cannot hold`,
            );
          }
          rendered.push([name, value]);
        }
        // A later step wins over an earlier one: setting undoes a removal and the other way round.
        for (const [name, value] of rendered) {
          if (value === '' && !keepEmpty) {
            delete ctx.setHeaders[name];
            ctx.removeHeaders.add(name);
          } else {
            ctx.setHeaders[name] = value;
            ctx.removeHeaders.delete(name);
          }
        }
        for (const name of remove) {
          delete ctx.setHeaders[name];
          ctx.removeHeaders.add(name);
        }
      },
    };
  },
};

/** Optional whitespace around a field value is not part of it (RFC 9110 §5.5). */
const EDGES = /^[\t ]+|[\t ]+$/g;

const EMPTY_SCOPE: TemplateScope = emptyScope();

/**
 * The request as templates see it. `body` is the payload as the previous steps left it, parsed
 * from JSON on first use only; the parse does not replace the payload, so a route whose only
 * step reads one field still forwards the caller's bytes unchanged (big numbers and all).
 */
function scopeOf(ctx: TransformContext, step: string): TemplateScope {
  return requestScope(ctx.message, () =>
    ctx.payload.kind === 'value' ? ctx.payload.value : payloadValue({ ...ctx }, step),
  );
}

function describeChar(char: string): string {
  const code = char.codePointAt(0)!;
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  if (char === '\r') return 'a carriage return (U+000D)';
  if (char === '\n') return 'a line feed (U+000A)';
  return code < 0x20 || code === 0x7f ? `a control character (U+${hex})` : `'${char}' (U+${hex})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
