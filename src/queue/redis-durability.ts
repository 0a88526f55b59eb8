/**
 * Whether a Redis keeps what it acknowledged: the settings that lose acknowledged webhooks (no
 * AOF, an fsync that lags, eviction under memory pressure), read with CONFIG GET. The lead calls it
 * at start and warns or refuses (`queue.redis.durability`).
 */
import type { Redis } from 'ioredis';

export interface DurabilityFinding {
  setting: string;
  value: string;
  risk: string;
}

const EXPECTED: { setting: string; want: string; risk: string }[] = [
  {
    setting: 'appendonly',
    want: 'yes',
    risk: 'without the AOF a restart of Redis loses every delivery written since the last snapshot',
  },
  {
    setting: 'appendfsync',
    want: 'always',
    risk: 'an acknowledged webhook may be lost if Redis or its host crashes before the next fsync (up to a second with everysec)',
  },
  {
    setting: 'maxmemory-policy',
    want: 'noeviction',
    risk: 'under memory pressure Redis evicts keys: queued deliveries vanish without a trace',
  },
];

/** The risky settings, [] when all are as production needs; one finding when CONFIG is refused. */
export async function redisDurability(client: Redis): Promise<DurabilityFinding[]> {
  const findings: DurabilityFinding[] = [];
  for (const { setting, want, risk } of EXPECTED) {
    let reply: unknown;
    try {
      reply = await client.config('GET', setting);
    } catch (error) {
      // Managed Redis (ElastiCache, Memorystore, …) often renames or disables CONFIG.
      return [
        {
          setting: 'CONFIG',
          value: 'unavailable',
          risk: `the durability settings could not be read (${(error as Error).message}): check appendonly yes, appendfsync always and maxmemory-policy noeviction with the provider`,
        },
      ];
    }
    const pairs = reply as string[];
    const value = pairs[1] ?? '';
    if (value !== want)
      findings.push({ setting, value, risk: `${setting} is '${value}', not '${want}': ${risk}` });
  }
  return findings;
}
