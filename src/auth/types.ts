/**
 * The contract of an outbound auth plugin: what it is applied for and how it adds credentials to a
 * request.
 */
import type { Counts, OutboundRequest } from '../core/message.ts';

/** Who the credentials are applied for: the route (a metric label) and where to count. */
export interface AuthContext {
  routeId: string;
  /** Where a plugin that fetches credentials counts its requests (`hookrelay_auth_token_requests_total`). */
  metrics?: { authTokenRequests: Counts<'route' | 'outcome'> } | undefined;
  /** `performance.now()` by which the attempt must be under way: waiting for credentials stops there. */
  deadline?: number | undefined;
}

export interface OutboundAuth {
  /** Adds credentials. Runs once per attempt, so refreshed credentials (e.g. OAuth2) can be used. */
  apply(request: OutboundRequest, context?: AuthContext): void | Promise<void>;
  /**
   * Adds stand-ins for the credentials without contacting anything (`hookrelay try`, the admin
   * view): a plugin that would fetch them (OAuth2) sets placeholders here. Without it, `apply` is used.
   */
  preview?(request: OutboundRequest): void;
  /**
   * The target answered 401 to `sent` (the request as these credentials left it): drop what it
   * carried so the next `apply` fetches fresh ones. True when one more attempt is worth making.
   */
  onUnauthorized?(sent: OutboundRequest): boolean | Promise<boolean>;
  close?(): void | Promise<void>;
}
