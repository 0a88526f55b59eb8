/**
 * What a route is at run time, compiled once from the configuration (config/compile.ts) and read
 * by the request path, which never re-parses configuration: the parts every route has, and those
 * of the routes whose body hookrelay buffers and sends itself. Each delivery mode (modes/) adds its
 * own options to these and keeps only what applies to it: a stream route has no retry policy, an
 * echo route no `forward`.
 */
import type { OutboundAuth } from '../auth/types.ts';
import type { RoutePath } from '../core/route-path.ts';
import type { Template } from '../core/text-template.ts';
import type { RetryPolicy } from '../delivery/policy.ts';
import type { TlsIdentity } from '../delivery/tls.ts';
import type { Handshake } from '../handshakes/types.ts';
import type { Signer } from '../signers/types.ts';
import type { CompiledStep } from '../transforms/run.ts';
import type { Verifier, VerifierInfo } from '../verifiers/types.ts';
import type { Condition } from './conditions.ts';
import type { CompiledFailureAnswer } from './failure-answer.ts';
import type { UrlTemplate } from './url-template.ts';

export interface CompiledVerifier {
  info: VerifierInfo;
  type: string;
  verifier: Verifier;
}

/** The route's provider handshake (`handshake`): answered by the relay, never forwarded. */
export interface CompiledHandshake {
  type: string;
  handshake: Handshake;
  /** The route's `limits.jsonDepth`, for a handshake that reads a JSON body. */
  jsonDepth: number;
}

export interface CompiledForward {
  template: UrlTemplate;
  method: string | undefined;
  headers: Readonly<Record<string, string>>;
  passHeaders: ReadonlySet<string> | undefined;
  passQuery: boolean;
  auth: OutboundAuth | undefined;
  /** Applied in order after `auth`, on every attempt. */
  sign: readonly Signer[];
  /** Client certificate and trusted CAs; undefined for the defaults (and for http targets). */
  tls: TlsIdentity | undefined;
  /** Same-origin redirects followed per attempt (0: a 3xx is the answer). */
  followRedirects: number;
  /** Caller credentials consumed by `verify` (API key header or query parameter): never forwarded. */
  consumedHeaders: ReadonlySet<string>;
  consumedQuery: ReadonlySet<string>;
}

export interface CompiledRespond {
  status: number;
  headers: Readonly<Record<string, string>>;
  /** `{{ … }}` template over the inbound request; `{requestId}` already rewritten into it. */
  body: Template | undefined;
}

/** What a rule does when its condition holds (docs/routing.md#rules). */
export type RuleAction =
  | { kind: 'answer'; respond: CompiledRespond }
  | { kind: 'refuse'; status: number; message: string | undefined }
  | { kind: 'drop'; status: number }
  | { kind: 'target'; target: string };

export interface CompiledRule {
  name: string;
  /** Undefined: the rule always acts (a catch-all). */
  when: Condition | undefined;
  action: RuleAction;
}

/** Every route, whatever its delivery mode. */
export interface RouteBase {
  id: string;
  path: RoutePath;
  methods: readonly string[];
  /** The delivery mode (modes/): which module takes the request after the shared stages. */
  delivery: string;
  verify: readonly CompiledVerifier[];
  /** Answered by the relay itself (pipeline/handshake.ts); undefined when the route has none. */
  handshake: CompiledHandshake | undefined;
  limits: { body: number };
}

/** A route whose body is buffered, transformed and sent by hookrelay's HTTP client (sync, async, hybrid). */
export interface BufferedRoute extends RouteBase {
  forward: CompiledForward;
  /** Request steps; empty when none are configured. */
  transform: readonly CompiledStep[];
  /**
   * Outbound header values fixed by the configuration whatever the request: `forward.headers`,
   * then the values without `{{ }}` of `headers` steps. Queued deliveries do not store them: they
   * are applied from the configuration at each attempt (rotated secrets take effect).
   */
  configHeaders: Readonly<Record<string, string>>;
  respond: CompiledRespond | undefined;
  /** Checked in order once the leading parsing steps ran; the first that matches acts. Empty when none. */
  rules: readonly CompiledRule[];
  /** How many leading `transform` steps (`xml`, `form`: parsing) run before the rules. */
  rulesAt: number;
  /** What the caller gets instead of the JSON error (or a target's refusal); empty when none. */
  onError: readonly CompiledFailureAnswer[];
  retry: RetryPolicy;
  timeouts: { connect: number; attempt: number };
  limits: { body: number; response: number; jsonDepth: number };
}

/**
 * One of a fan-out route's `targets`, as config/compile.ts compiles it; the route's delivery mode
 * (modes/fanout/) turns it into a target it delivers or queues.
 */
export interface TargetParts {
  name: string;
  forward: CompiledForward;
  /** Steps run after the route's own, on their result; empty when none. */
  transform: readonly CompiledStep[];
  /** `configHeaders` for this target's requests: its `forward.headers`, then the static values of every `headers` step. */
  configHeaders: Readonly<Record<string, string>>;
  /** Undefined: always chosen. */
  when: Condition | undefined;
  /** The route's policy with the target's `retry` over it. */
  retry: RetryPolicy;
  /** The `queue` keys the target sets (none with a default), over the route's; undefined when none. */
  queue: Readonly<Record<string, unknown>> | undefined;
  /** `primary: true` as written. */
  primary: boolean;
}

/**
 * What config/compile.ts compiles for any route, from the keys every mode shares; a mode's
 * `compile` keeps the parts that apply to it and adds its own options.
 */
export interface RouteParts extends Omit<BufferedRoute, 'forward' | 'delivery' | 'timeouts'> {
  forward: CompiledForward | undefined;
  /** A fan-out route's targets (instead of `forward`); undefined on other routes. */
  targets: readonly TargetParts[] | undefined;
  /** Steps over a 2xx target answer; empty when none are configured. */
  responseTransform: readonly CompiledStep[];
  timeouts: { connect: number; attempt: number; deadline: number };
}

/** True for a route of a mode that buffers the body and runs its transform steps (sync, async, hybrid). */
export function isBuffered(route: RouteBase): route is BufferedRoute {
  return 'transform' in route && 'forward' in route;
}
