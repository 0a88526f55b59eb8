/** A queued route as the delivery workers (queue/worker.ts) need it. */
import { queuedPolicy } from '../../delivery/policy.ts';
import { targetUrl } from '../../pipeline/outbound.ts';
import type { WorkerRoute } from '../../queue/worker.ts';
import type { QueuedRoute } from './route.ts';

export function workerRoute(route: QueuedRoute): WorkerRoute {
  const { forward } = route;
  return {
    id: route.id,
    configHeaders: route.configHeaders,
    targetUrl: (target) => targetUrl(forward, { ...target, query: new URLSearchParams(target.rawQuery) }),
    auth: forward.auth,
    sign: forward.sign,
    followRedirects: forward.followRedirects,
    tls: forward.tls,
    // Queued retries are patient: the route's queue backoff and Retry-After cap replace the
    // synchronous ones (the hybrid hand-off schedules its first queued attempt with the same).
    retry: queuedPolicy(route.retry, route.queue),
    timeouts: route.timeouts,
    responseLimit: route.limits.response,
    queue: route.queue,
  };
}
