/**
 * The verifiers' replay window in Redis, shared by every instance on one Redis (with
 * `queue.driver: redis`): a message claimed through one instance is refused as replayed by all.
 *
 * A claim is one script, so it is all-or-nothing across instances: the message's names (id,
 * signature) are set with NX and the window as PX only when none is set yet. Each claim writes a
 * random token; the release (the answer was not 2xx) deletes only the keys still holding that
 * token, so it never forgets a later claim of the same message. The window runs on Redis' clock,
 * the same for every instance.
 *
 * Keys: `<prefix>:replay:<scope>:<sha256 of the name>`. The names are hashed so that what a
 * caller sent (an id header of any length, a signature) is never stored as it came: the key is
 * bounded and reveals nothing. Commands run on a fail-fast connection (`commandTimeout`, no
 * offline queue): while Redis is down a claim rejects at once, and the relay refuses the call
 * with 503 rather than accept a possible replay.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { SharedReplayStore } from '../verifiers/replay.ts';
import { producerOptions, type RedisSettings } from './redis-settings.ts';

/** KEYS: the names; ARGV[1] token, ARGV[2] window (ms). 1 when claimed, 0 when one was seen. */
const CLAIM = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
end
return 1`;

/** KEYS: the names; ARGV[1] token. Deletes the keys this claim still holds. */
const RELEASE = `
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then n = n + redis.call('DEL', KEYS[i]) end
end
return n`;

const CLOSE_TIMEOUT_MS = 2_000;

export class RedisReplayStore implements SharedReplayStore {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #ready: Promise<void>;
  readonly #connectTimeout: number;

  constructor(settings: RedisSettings) {
    this.#client = new Redis(producerOptions(settings));
    // Reconnects report every failure as an 'error' event; the claims that fail say it.
    this.#client.on('error', () => {});
    this.#prefix = settings.prefix;
    this.#connectTimeout = settings.connectTimeout;
    this.#ready = new Promise<void>((resolve) => {
      if (this.#client.status === 'ready') resolve();
      else this.#client.once('ready', () => resolve());
    });
  }

  #keys(scope: string, names: readonly string[]): string[] {
    return names.map(
      (name) => `${this.#prefix}:replay:${scope}:${createHash('sha256').update(name).digest('hex')}`,
    );
  }

  /** Before the first connect, a command without the offline queue fails: wait for it, bounded. */
  async #connected(): Promise<void> {
    if (this.#client.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#ready,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#connectTimeout);
      }),
    ]);
    clearTimeout(timer);
  }

  async claim(scope: string, names: readonly string[], windowMs: number): Promise<(() => void) | undefined> {
    await this.#connected();
    const keys = this.#keys(scope, names);
    const token = randomUUID();
    const release = () => {
      // Best effort: when Redis is unreachable the claim stays until its window ends, which
      // refuses the sender's retry as a replay for that long; a lost release never lets one in.
      this.#client.eval(RELEASE, keys.length, ...keys, token).catch(() => {});
    };
    let claimed: unknown;
    try {
      claimed = await this.#client.eval(CLAIM, keys.length, ...keys, token, String(windowMs));
    } catch (error) {
      // Timed out is not undone: a slow Redis may still run the claim. The release follows it on
      // the same connection, so the refused caller's retry is not taken for a replay.
      release();
      throw error;
    }
    return claimed === 1 ? release : undefined;
  }

  ready(): boolean {
    return this.#client.status === 'ready';
  }

  async close(): Promise<void> {
    const quit = this.#client.quit().then(
      () => {},
      () => {},
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      quit,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    this.#client.disconnect();
  }
}
