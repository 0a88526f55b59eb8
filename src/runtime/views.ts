/**
 * The routes of a generation as the admin listener shows them (admin/live.ts RouteView): mode,
 * methods, path, where each forwards, and the circuit state of each queued target.
 */
import type { RouteView } from '../admin/live.ts';
import type { SecretValues } from '../core/secret-values.ts';
import type { Fanout } from '../modes/fanout/targets.ts';
import { isQueued } from '../modes/index.ts';
import type { RouteBase } from '../pipeline/route.ts';
import type { UrlTemplate } from '../pipeline/url-template.ts';
import type { CircuitState } from '../queue/circuit.ts';

/**
 * `https://crm.example/api/{tenant}/orders`: the template as written, placeholders included,
 * without its query (where credentials in a URL go; the secret values are redacted as well).
 */
export function templateText(template: UrlTemplate): string {
  let url = '';
  for (const part of template.parts) {
    if ('literal' in part) url += part.literal;
    else if ('param' in part) url += `{${part.param}}`;
    else url += `{query.${part.query}}`;
  }
  const text = url.split('?', 1)[0]!;
  return template.prefix ? `${text.replace(/\/$/, '')}/*` : text;
}

export function routeViews(
  routes: readonly RouteBase[],
  paths: ReadonlyMap<string, string>,
  secrets: SecretValues,
  circuit: (queueId: string) => CircuitState,
): RouteView[] {
  return routes.map((route) => {
    const fanout = (route as { fanout?: Fanout | undefined }).fanout;
    const forward = (route as { forward?: { template: UrlTemplate } }).forward;
    const queued = isQueued(route);
    const targets = fanout
      ? fanout.targets.map((target, index) => ({
          name: target.name,
          url: secrets.redact(templateText(target.queued.forward.template)),
          // A sync route's primary answers the caller and is never queued.
          queueId: queued || index !== fanout.primary ? target.queued.id : undefined,
        }))
      : forward
        ? [
            {
              name: route.id,
              url: secrets.redact(templateText(forward.template)),
              queueId: queued ? route.id : undefined,
            },
          ]
        : [];
    const circuits: Record<string, CircuitState> = {};
    for (const target of targets) if (target.queueId) circuits[target.queueId] = circuit(target.queueId);
    return {
      id: route.id,
      delivery: route.delivery,
      methods: [...route.methods],
      path: paths.get(route.id) ?? '',
      targets,
      circuits,
    };
  });
}
