/**
 * The contract between the lifecycle and a delivery mode (modes/): how far the shared stages take
 * a call before the mode's `handle`, the last stage. Implementations hold their own resources
 * (the queue, the stream proxy) and release them in `close`.
 */
import type { InboundMessage } from '../core/message.ts';
import type { Call } from './call.ts';
import type { Prepared } from './prepare.ts';
import type { BufferedRoute } from './route.ts';

interface Closable {
  close?(): void | Promise<void>;
}

/** The body is the mode's: the stages check its declared length and verify the caller without it. */
export interface StreamingMode extends Closable {
  takes: 'stream';
  handle(call: Call): Promise<void>;
}

/** The stages read the whole body and verify it; the mode gets the inbound message. */
export interface MessageMode extends Closable {
  takes: 'message';
  handle(call: Call, message: InboundMessage): Promise<void>;
}

/** The stages also run the transform steps and build the request for the target. */
export interface PreparedMode extends Closable {
  takes: 'prepared';
  handle(call: Call<BufferedRoute>, message: InboundMessage, prepared: Prepared): Promise<void>;
}

export type DeliveryMode = StreamingMode | MessageMode | PreparedMode;
