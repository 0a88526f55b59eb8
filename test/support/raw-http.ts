import { connect, type Socket } from 'node:net';

/**
 * A raw HTTP/1.1 caller on one TCP connection, for what fetch and node:http hide: pipelining a
 * second request behind the first, sending a body slowly or not at all, reading the exact
 * `Connection` header, and telling an orderly close (FIN) from a reset.
 */

export interface RawResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
}

/** How the connection ended: `end` is the server's orderly close, `reset` a TCP reset. */
export interface Ending {
  how: 'end' | 'reset' | 'error';
  error?: string;
  /** Bytes of responses received before the end. */
  received: number;
}

export interface RawConnection {
  socket: Socket;
  connected: Promise<void>;
  /** Responses parsed so far (Content-Length framed, as hookrelay and the test targets answer). */
  responses: RawResponse[];
  /** Resolves with the n-th response (0-based) once it has fully arrived; rejects if the connection ends first. */
  response(index?: number): Promise<RawResponse>;
  ended: Promise<Ending>;
  write(data: string | Buffer): Promise<void>;
  destroy(): void;
}

export function rawConnect(
  port: number,
  options: { localAddress?: string; host?: string } = {},
): RawConnection {
  const socket = connect({
    port,
    host: options.host ?? '127.0.0.1',
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  let buffer = Buffer.alloc(0);
  let received = 0;
  const responses: RawResponse[] = [];
  const waiters = new Set<() => void>();
  let ending: Ending | undefined;
  let settle!: (e: Ending) => void;
  const ended = new Promise<Ending>((resolve) => {
    settle = resolve;
  });
  const finish = (e: Omit<Ending, 'received'>) => {
    if (ending) return;
    ending = { ...e, received };
    settle(ending);
    for (const wake of waiters) wake();
  };
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const parsed = parseOne(buffer);
      if (!parsed) break;
      responses.push(parsed.response);
      buffer = buffer.subarray(parsed.length);
    }
    for (const wake of waiters) wake();
  });
  socket.on('end', () => finish({ how: 'end' }));
  socket.on('error', (error: NodeJS.ErrnoException) =>
    finish({ how: error.code === 'ECONNRESET' ? 'reset' : 'error', error: error.code ?? error.message }),
  );
  socket.on('close', () => finish({ how: 'end' }));
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  connected.catch(() => {});
  return {
    socket,
    connected,
    responses,
    ended,
    response(index = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (responses[index]) {
            waiters.delete(check);
            resolve(responses[index]);
          } else if (ending) {
            waiters.delete(check);
            reject(
              new Error(
                `connection ended (${ending.how}${ending.error ? ` ${ending.error}` : ''}) before response ${index}; got ${responses.length}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
    },
    write(data) {
      return new Promise((resolve) => {
        if (socket.destroyed || !socket.writable) {
          resolve();
          return;
        }
        socket.write(data, () => resolve());
      });
    },
    destroy() {
      socket.destroy();
    },
  };
}

function parseOne(buffer: Buffer): { response: RawResponse; length: number } | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const head = buffer.subarray(0, end).toString('latin1');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buffer.length < end + 4 + length) return undefined;
  return {
    response: {
      status: Number(statusLine!.split(' ')[1]),
      headers,
      body: buffer.subarray(end + 4, end + 4 + length).toString('utf8'),
    },
    length: end + 4 + length,
  };
}

/** Resolves with `value` once `promise` settles, or with `fallback` after `limitMs` (a limit, not a measurement). */
export function within<T, F>(promise: Promise<T>, limitMs: number, fallback: F): Promise<T | F> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), limitMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}
