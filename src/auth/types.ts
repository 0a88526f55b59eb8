/** The request hookrelay is about to send; auth plugins add credentials to it. */
export interface OutboundRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export interface OutboundAuth {
  /** Adds credentials. Runs once per attempt, so refreshed credentials (e.g. OAuth2) can be used. */
  apply(request: OutboundRequest): void | Promise<void>;
  close?(): void | Promise<void>;
}
