import type { InboundMessage } from '../../src/core/message.ts';
import { transformRegistry, transformSchema } from '../../src/transforms/index.ts';
import type { CompiledStep } from '../../src/transforms/run.ts';

/** Shared by the transform step tests: steps compiled as a route would, and an inbound message. */
export function compile(...configs: Record<string, unknown>[]): CompiledStep[] {
  return configs.map((raw, index) => {
    const config = transformSchema.parse(raw);
    const info = { routeId: 'r', index, name: `transform[${index}] (${config.type})` };
    return { info, step: transformRegistry.create(config, info) };
  });
}

export function inbound(
  fields: Partial<Omit<InboundMessage, 'query'>> & { query?: string } = {},
): InboundMessage {
  const query = fields.query ?? '';
  return {
    requestId: 'rid',
    routeId: 'r',
    method: 'POST',
    path: '/in',
    params: {},
    headers: {},
    body: Buffer.alloc(0),
    clientIp: '127.0.0.1',
    receivedAt: 0,
    ...fields,
    query: new URLSearchParams(query),
    rawQuery: query,
  };
}
