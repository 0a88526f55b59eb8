import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/telemetry/log.ts';

describe('logger', () => {
  it('masks headers and auth should a log call ever pass them', () => {
    const lines: string[] = [];
    const sink = { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream;
    const logger = createLogger('info', sink);
    logger.info(
      {
        headers: { authorization: 'Bearer s3cret', 'x-api-key': 'k3y', 'content-type': 'text/xml' },
        auth: { type: 'bearer', token: 's3cret' },
      },
      'oops',
    );
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line.headers).toEqual({
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      'content-type': 'text/xml',
    });
    expect(line.auth).toBe('[redacted]');
    expect(lines[0]).not.toMatch(/s3cret|k3y/);
  });
});
