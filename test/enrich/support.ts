import type { ServerResponse } from 'node:http';
import { type Received, startTarget, type Target } from '../helpers.ts';

/**
 * The onePortal identity API as a real server on 127.0.0.1: `/users/<id>` answers by id, other
 * paths give the failure each test needs (slow, too large, malformed, XML, flaky).
 */
export function identityApi(): Promise<Target> {
  return startTarget((req: Received, res: ServerResponse) => handle(req, res));
}

let flaky = 0;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function handle(req: Received, res: ServerResponse): Promise<void> {
  const path = req.url.split('?')[0]!;
  if (path === '/users/IDNUMBER1234') {
    if (req.headers.authorization !== 'Bearer tok-1') return json(res, 401, { message: 'no token' });
    return json(res, 200, { id: 'IDNUMBER1234', email: 'ada@example.com', displayName: 'Ada Lovelace' });
  }
  if (path.startsWith('/users/')) return json(res, 404, { message: `user ${path.slice(7)} does not exist` });
  if (path.startsWith('/slow/')) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return json(res, 200, {});
  }
  if (path.startsWith('/big/')) return json(res, 200, { padding: 'x'.repeat(4_096) });
  if (path.startsWith('/bad/')) {
    res.setHeader('content-type', 'application/json');
    res.end('{"email": ada@example.com');
    return;
  }
  if (path.startsWith('/xml/')) {
    res.setHeader('content-type', 'application/xml');
    res.end('<user id="7"><email>grace@example.com</email><name>Grace</name></user>');
    return;
  }
  if (path.startsWith('/flaky/')) {
    flaky++;
    if (flaky % 2 === 1) return json(res, 503, { message: 'busy' });
    return json(res, 200, { email: 'flaky@example.com' });
  }
  return json(res, 500, { message: 'unexpected path' });
}
