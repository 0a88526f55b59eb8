import { handshakeRegistry, handshakeSchema } from '../../src/handshakes/index.ts';
import {
  type Handshake,
  type HandshakeReply,
  type HandshakeRequest,
  handshakeRequest,
} from '../../src/handshakes/types.ts';

/** Shared by the handshake tests: a preset from a config object, a request, and its reply. */

export function preset(config: Record<string, unknown>): Handshake {
  return handshakeRegistry.create(handshakeSchema.parse(config));
}

export function call(
  method: string,
  query = '',
  body: string | Buffer = '',
  headers: Record<string, string> = {},
): HandshakeRequest {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  return handshakeRequest(
    method,
    new URLSearchParams(query),
    lower,
    Buffer.isBuffer(body) ? body : Buffer.from(body),
    64,
  );
}

/** What the stage does with the call: undefined when it is not the handshake. */
export function reply(handshake: Handshake, request: HandshakeRequest): HandshakeReply | undefined {
  return handshake.candidate(request) ? handshake.answer(request) : undefined;
}
