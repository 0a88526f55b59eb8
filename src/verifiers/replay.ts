/**
 * The replay window of one verifier: messages that passed verification, remembered by message id
 * (when the scheme has one) and by signature, for `windowMs`.
 *
 * Why the signature too: GitHub, Shopify and Twilio do not sign their id header, so whoever
 * captured a request could resend it under a fresh id. The signature is a function of the secret
 * and the signed content, so a byte-identical resend is caught whatever id it carries.
 *
 * A message is claimed only once every check of the route passed, and the claim is released when
 * the relay's answer is not 2xx: the sender will retry with the same id and must get through.
 * While the first request is still in flight its claim stands, so a concurrent duplicate is
 * refused. This store is in memory and per process: a restart forgets it; the signed timestamp
 * tolerance (where the scheme has one) still bounds how old a replay can be. With
 * `queue.driver: redis` the relay claims in a `SharedReplayStore` instead (queue/redis-replay.ts),
 * so a replay sent to another instance is refused too.
 */

/** Memory bound per verifier; beyond it the oldest messages are forgotten first. */
export const REPLAY_MAX_ENTRIES = 100_000;

export interface ReplayKeys {
  messageId?: string | undefined;
  signature?: string | undefined;
}

export interface ReplayWindow {
  /** How long a message is remembered (ms). */
  readonly windowMs: number;
  /** Remembers the message; returns its release, or undefined when it was seen within the window. */
  claim(keys: ReplayKeys, now: number): (() => void) | undefined;
  readonly size: number;
}

/**
 * A window shared by several instances (Redis): all of `names` are claimed at once, or none when
 * one was claimed within `windowMs`. `scope` keeps the windows of two verifiers apart. A store it
 * cannot ask rejects, and the relay then refuses the call (fail closed) rather than risk a replay.
 */
export interface SharedReplayStore {
  claim(scope: string, names: readonly string[], windowMs: number): Promise<(() => void) | undefined>;
  /** Whether claims can be made now (the instance is unready while they cannot). */
  ready(): boolean;
  close(): Promise<void>;
}

/** The names a message is remembered by: its id and its signature, when the scheme gives them. */
export function replayNames(keys: ReplayKeys): string[] {
  const names: string[] = [];
  if (keys.messageId !== undefined) names.push(`id:${keys.messageId}`);
  if (keys.signature !== undefined) names.push(`sig:${keys.signature}`);
  return names;
}

interface Entry {
  expiresAt: number;
}

export function createReplayWindow(windowMs: number, maxEntries = REPLAY_MAX_ENTRIES): ReplayWindow {
  // A Map keeps insertion order, and every entry lives for the same window: the oldest entry is
  // always the first, so expiry and eviction only ever look at the head.
  const seen = new Map<string, Entry>();
  const expire = (now: number) => {
    for (const [key, entry] of seen) {
      if (entry.expiresAt > now) break;
      seen.delete(key);
    }
  };
  return {
    windowMs,
    claim(keys, now) {
      expire(now);
      const names = replayNames(keys);
      if (names.length === 0) return () => {};
      for (const name of names) {
        const entry = seen.get(name);
        if (entry && entry.expiresAt > now) return undefined;
      }
      const entry: Entry = { expiresAt: now + windowMs };
      for (const name of names) {
        seen.delete(name);
        seen.set(name, entry);
      }
      while (seen.size > maxEntries) seen.delete(seen.keys().next().value!);
      return () => {
        // Only this claim's own entries: a later claim of the same message keeps its own.
        for (const name of names) if (seen.get(name) === entry) seen.delete(name);
      };
    },
    get size() {
      return seen.size;
    },
  };
}
