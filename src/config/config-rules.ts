/**
 * The rules that span sections or routes: timeouts that must nest, the admin token off loopback,
 * leases longer than attempts, paths hookrelay serves itself, duplicate ids and endpoints.
 */
import type { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { parseRoutePath } from '../core/route-path.ts';
import { ROUTE_QUEUE_DEFAULTS } from '../modes/async/schema.ts';
import { parseCidr } from '../verifiers/ip-allow.ts';

type Parsed = z.output<typeof import('./schema.ts').configShape>;

export function checkConfig(config: Parsed, ctx: z.core.$RefinementCtx): void {
  if (!Array.isArray(config.routes)) return;
  // Routes that failed validation may hold values of any type here (see `evenAfterErrors`).
  const routes = config.routes.filter(
    (route) =>
      typeof route === 'object' &&
      route !== null &&
      typeof route.id === 'string' &&
      typeof route.path === 'string' &&
      Array.isArray(route.methods),
  );
  const server = config.server;
  if (
    typeof server?.headersTimeout === 'number' &&
    typeof server.requestTimeout === 'number' &&
    server.headersTimeout > server.requestTimeout
  ) {
    // Node refuses this combination: the headers are part of the request.
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
      path: ['server', 'headersTimeout'],
      message: `must not be longer than server.requestTimeout (${server.requestTimeout} ms)`,
    });
  }
  const proxies = server?.perClient?.trustedProxies;
  if (Array.isArray(proxies)) {
    proxies.forEach((cidr, index) => {
      if (typeof cidr === 'string' && !parseCidr(cidr)) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_INVALID_VALUE'),
          path: ['server', 'perClient', 'trustedProxies', index],
          message: `invalid address or CIDR '${cidr}'`,
        });
      }
    });
  }
  const rate = server?.minBodyRate;
  if (typeof rate?.grace === 'number' && rate.grace < 100 && rate.bytesPerSecond !== 0) {
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_OUT_OF_RANGE'),
      path: ['server', 'minBodyRate', 'grace'],
      message:
        'must be at least 100ms: the rate is measured over this span (set bytesPerSecond to 0 to turn the check off)',
    });
  }
  const admin = config.admin;
  if (admin?.enabled && typeof admin.host === 'string' && !isLoopback(admin.host) && !admin.token) {
    ctx.addIssue({
      code: 'custom',
      params: configCode('HOOKRELAY_CONFIG_INSECURE'),
      path: ['admin', 'token'],
      message: `required when the admin API listens on '${admin.host}' (not loopback): set it from \${HOOKRELAY_ADMIN_TOKEN}`,
    });
  }
  config.routes.forEach((route, index) => {
    if (typeof route !== 'object' || route === null) return;
    if (route.delivery === 'sync' || route.delivery === 'stream') return;
    const attempt = route.timeouts?.attempt ?? config.defaults?.timeouts?.attempt;
    const lease = route.queue === undefined ? ROUTE_QUEUE_DEFAULTS.lease : route.queue.lease;
    if (typeof attempt === 'number' && typeof lease === 'number' && lease <= attempt) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
        path: ['routes', index, 'queue', 'lease'],
        message: `must be longer than the attempt timeout (${attempt} ms), or another worker could take over a delivery still in flight`,
      });
    }
  });
  const metricsPath = config.metrics?.enabled === false ? [] : [config.metrics?.path ?? '/metrics'];
  const reserved = ['/healthz', '/readyz', ...metricsPath];
  config.routes.forEach((route, index) => {
    if (!routes.includes(route)) return;
    const base = route.path.replace(/(.)\/$/, '$1');
    const covered = base.endsWith('/*')
      ? reserved.filter((p) => p === base.slice(0, -2) || p.startsWith(base.slice(0, -1)))
      : [];
    if (covered.length > 0) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_RESERVED'),
        path: ['routes', index, 'path'],
        message: `'${route.path}' would cover ${covered.join(', ')}, served by hookrelay itself: use a base path such as '/api/*'`,
      });
    } else if (reserved.includes(base)) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_RESERVED'),
        path: ['routes', index, 'path'],
        message: `'${route.path}' is served by hookrelay itself (${reserved.join(', ')})`,
      });
    }
  });
  const ids = new Map<string, number>();
  const endpoints = new Map<string, number>();
  config.routes.forEach((route, index) => {
    if (!routes.includes(route)) return;
    const first = ids.get(route.id);
    if (first !== undefined) {
      ctx.addIssue({
        code: 'custom',
        params: configCode('HOOKRELAY_CONFIG_DUPLICATE'),
        path: ['routes', index, 'id'],
        message: `duplicate route id '${route.id}' (also routes[${first}])`,
      });
    } else ids.set(route.id, index);
    let shape: string;
    try {
      shape = parseRoutePath(route.path).shape;
    } catch {
      return;
    }
    for (const m of route.methods) {
      if (typeof m !== 'string') continue;
      const key = `${m.toUpperCase()} ${shape}`;
      const other = endpoints.get(key);
      if (other !== undefined && other !== index) {
        ctx.addIssue({
          code: 'custom',
          params: configCode('HOOKRELAY_CONFIG_DUPLICATE'),
          path: ['routes', index, 'path'],
          message: `${m} ${route.path} is already handled by routes[${other}]`,
        });
      } else endpoints.set(key, index);
    }
  });
}

/** Loopback addresses: the admin API may listen there without a token. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}
