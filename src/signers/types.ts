/**
 * The contract of an outbound signer: it signs the prepared request of each attempt, given the
 * delivery id and the time.
 */
import type { OutboundRequest } from '../core/message.ts';

/** What a signature may cover besides the request itself. */
export interface SignContext {
  /** The delivery id (queued and hybrid routes) or request id (sync): the same on every attempt. */
  id: string;
  /** Wall clock of this attempt, ms since the epoch. */
  now: number;
}

/**
 * Signs the request about to be sent. Runs per attempt after the credentials are applied, over the
 * final body and URL, so a retried attempt carries a fresh timestamp and a matching signature.
 */
export interface Signer {
  /** Header names (lower case) whose values are signatures: `hookrelay try` shows them redacted. */
  readonly signatureHeaders: readonly string[];
  sign(request: OutboundRequest, context: SignContext): void;
}
