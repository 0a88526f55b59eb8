/** The top-level sections of the configuration besides the routes: listeners, queue, admin, logs. */
import { z } from 'zod';
import { configCode } from '../core/config-codes.ts';
import { duration, headerName, size } from '../core/fields.ts';
import { DRIVERS } from '../queue/index.ts';
import { ATTEMPT_ROW_BYTES, DEFAULT_KEEP_ATTEMPTS } from '../queue/types.ts';

export const serverSection = z
  .strictObject({
    host: z.string().default('0.0.0.0').meta({ description: 'Listen address.' }),
    port: z.coerce.number().int().min(0).max(65535).default(8080).meta({ description: 'Listen port.' }),
    shutdownGrace: duration(
      'On SIGTERM/SIGINT, time in-flight requests get to finish before exit.',
      '10s',
    ).default(10_000),
    watchConfig: z.boolean().default(false).meta({
      description:
        "Reload the configuration when its file changes: the file's directory is watched (editors, `git pull` and Kubernetes ConfigMaps replace a file by rename or symlink swap), changes are debounced, and a reload happens only when the content's hash changed. `SIGHUP` and `POST /reload` on the admin listener reload whether or not this is on. See docs/reload.md.",
    }),
    requestIdHeader: headerName
      .default('x-request-id')
      .meta({ description: 'Header carrying the request id, in and out.' }),
    maxHeaderSize: size(
      'Largest request line plus headers accepted (431 beyond it, connection closed).',
      '16kb',
    ).default(16 * 1024),
    headersTimeout: duration(
      'Time a caller gets to send the request line and all headers (408 beyond it): cuts off senders that trickle headers (slowloris).',
      '10s',
    ).default(10_000),
    requestTimeout: duration(
      'Time a caller gets to send the whole request, headers and body (408 beyond it). Time spent waiting for the target does not count.',
      '60s',
    ).default(60_000),
    keepAliveTimeout: duration(
      'How long an idle keep-alive connection stays open for the next request. Keep it longer than the idle timeout of a load balancer in front.',
      '65s',
    ).default(65_000),
    maxConcurrentRequests: z.number().int().min(1).default(1_000).meta({
      description:
        'Requests to routes processed at once, across all routes; beyond it callers get 503 with `Retry-After` (health, readiness and metrics stay reachable). A queued route counts only until its webhook is stored.',
      example: 1000,
    }),
    firstByteTimeout: duration(
      'Time a new connection gets to send the first byte of its first request (`headersTimeout` when that is shorter: Node starts it when the connection is accepted). A connection that sends nothing is closed without an answer (nothing was asked), counted and logged at most every 10 s; from the first byte on, `headersTimeout` applies, and between requests on a kept-alive connection `keepAliveTimeout`.',
      '5s',
    ).default(5_000),
    maxConnections: z
      .union([z.literal('auto'), z.number().int().min(1)])
      .default('auto')
      .meta({
        description:
          'Connections open at once on the listener; beyond it a new connection is closed as soon as it is accepted (counted, and logged at most every 10 s). `auto`: half the open-file limit the process runs with (`ulimit -n`, read at start; 1024 assumed where it cannot be read), at most 10000, so that descriptors remain for connections to targets, the queue and the admin API.',
        example: 4096,
      }),
    minBodyRate: z
      .strictObject({
        bytesPerSecond: size(
          'The slowest rate, in bytes per second, at which a request body may keep arriving; 0 turns the check off.',
          '500b',
        ).default(500),
        grace: duration(
          'How long a body may arrive at any rate before the check starts, and the span the rate is measured over from then on: a sender that stalls is cut after `grace` at the latest.',
          '10s',
        ).default(10_000),
      })
      .prefault({})
      .meta({
        description:
          'The slowest a request body may arrive, on buffered and stream routes alike (nginx `client_body_timeout`, Apache `mod_reqtimeout` MinRate): once a body has been arriving for `grace`, at least `bytesPerSecond` × `grace` bytes must arrive within every `grace`, or the caller gets 408 `HOOKRELAY_ERR_BODY_TOO_SLOW` and the connection is closed. Time during which hookrelay itself is not reading (a stream target that reads slowly) does not count against the sender. A large upload at a steady rate is never cut; buffered routes are also bounded as a whole by `requestTimeout`.',
      }),
    perClient: z
      .strictObject({
        maxConnections: z
          .union([z.literal('auto'), z.number().int().min(0)])
          .default('auto')
          .meta({
            description:
              'Connections one client address may hold open at once; beyond it its new connection is closed as soon as it is accepted (counted, logged at most every 10 s). `auto`: a quarter of `server.maxConnections`; 0: no per-client cap.',
            example: 256,
          }),
        maxConcurrentRequests: z
          .union([z.literal('auto'), z.number().int().min(0)])
          .default('auto')
          .meta({
            description:
              'Requests to routes from one client address processed at once; beyond it that client gets 429 `HOOKRELAY_ERR_TOO_MANY_REQUESTS` with `Retry-After` while other clients are served. `auto`: a quarter of `server.maxConcurrentRequests`; 0: no per-client cap.',
            example: 250,
          }),
        ipv6Prefix: z.number().int().min(32).max(128).default(64).meta({
          description:
            'IPv6 callers are counted by network prefix of this length, since one subscriber usually owns a whole /64 (or /56, /48) and can pick any address in it; 128 counts every address on its own.',
          example: 64,
        }),
        trustedProxies: z
          .array(z.string())
          .default([])
          .meta({
            description:
              "Addresses or CIDR ranges of load balancers and reverse proxies in front of hookrelay. Their connections are not capped per client (every caller shares them), and their requests count against the address they report: the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Behind a proxy not listed here, every caller has the proxy's address, and the per-client caps act as caps on the whole proxy.",
            example: ['10.0.0.0/8'],
          }),
      })
      .prefault({})
      .meta({
        description:
          'Fair shares per client address, so that one caller cannot take every connection or request slot. Behind a load balancer, list it in `trustedProxies` (or set the caps to 0).',
      }),
  })
  .prefault({})
  .meta({ description: 'HTTP listener.' });

export const parsingSection = z
  .strictObject({
    workerThreshold: size(
      'Bodies at least this large are parsed by worker threads (`xml` steps), so a large document does not hold up other requests and the health endpoints; smaller ones are parsed on the event loop, where a thread hop would cost more than the parse. Every body this large (JSON too) is also transformed on a turn of the event loop of its own, so other requests are served between two of them.',
      '16kb',
    ).default(16 * 1024),
    workers: z.number().int().min(0).max(256).optional().meta({
      description:
        'Parsing worker threads at most, started when a large body arrives. Default: the CPU cores available to the process (`os.availableParallelism()`). `0` parses every body on the event loop.',
      example: 2,
    }),
    queue: z.number().int().min(0).max(100_000).default(32).meta({
      description:
        'Large bodies that may wait for a busy worker thread; beyond it a request is refused at once with 503 `HOOKRELAY_ERR_TRANSFORM_BUSY`. A body waits about `queue` × the time of one parse ÷ `workers`: lower it when you raise the `xml` limits. A `response.transform` step is never refused (the target already has the request): it waits, ahead of request steps.',
      example: 16,
    }),
    idleTimeout: duration(
      'A worker thread idle this long is ended, and its memory returned; the next large body starts one again.',
      '30s',
    ).default(30_000),
    workerMemory: size(
      'Heap of one worker thread (V8 old generation), at least 32 MB. A document whose parse needs more is refused with 413 `HOOKRELAY_ERR_BODY_TOO_COMPLEX` and the thread replaced; the relay itself is not affected.',
      '256mb',
    )
      .refine((bytes) => bytes >= 32 * 1024 * 1024, {
        params: configCode('HOOKRELAY_CONFIG_OUT_OF_RANGE'),
        message: 'must be at least 32mb: a worker thread needs about that to start',
      })
      .default(256 * 1024 * 1024),
  })
  .prefault({})
  .meta({
    description:
      'Large bodies: worker threads that parse XML off the event loop, and turns of the event loop for the rest. See [transforms.md](transforms.md#large-bodies).',
  });

export const logSection = z
  .strictObject({
    level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .meta({ description: 'Log level.' }),
  })
  .prefault({})
  .meta({ description: 'Structured JSON logs on stdout.' });

export const tracingSection = z
  .strictObject({
    enabled: z.boolean().optional().meta({
      description:
        'Export OpenTelemetry traces (docs/observability.md). Unset: on when the environment names an OTLP traces exporter or endpoint (`OTEL_TRACES_EXPORTER=otlp`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), off otherwise. When off, no OpenTelemetry module is loaded. `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` keep it off.',
      example: true,
    }),
    endpoint: z
      .url({ protocol: /^https?$/ })
      .optional()
      .meta({
        description:
          'The full OTLP/HTTP traces URL (e.g. `http://otel-collector:4318/v1/traces`); setting it turns tracing on unless `enabled: false`. Unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/traces`, or `http://localhost:4318/v1/traces`.',
        example: 'http://otel-collector:4318/v1/traces',
      }),
    protocol: z.enum(['http/protobuf', 'http/json']).optional().meta({
      description:
        'OTLP encoding. Unset: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` or `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`.',
    }),
    serviceName: z.string().min(1).optional().meta({
      description: 'The `service.name` of the spans. Unset: `OTEL_SERVICE_NAME`, else `hookrelay`.',
    }),
    sampleRatio: z.number().min(0).max(1).optional().meta({
      description:
        "Share of new traces sampled (parent-based: a caller's sampled flag is followed). Unset: `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, else every trace.",
      example: 0.1,
    }),
  })
  .prefault({})
  .meta({
    description:
      'OpenTelemetry traces over OTLP/HTTP: a span per request, its verify and transform stages and each delivery attempt; the `traceparent` goes on to the target.',
  });

export const metricsSection = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Serve Prometheus metrics.' }),
    path: z.string().startsWith('/').default('/metrics').meta({ description: 'Metrics path.' }),
  })
  .prefault({})
  .meta({ description: 'Prometheus metrics.' });

const redisSection = z
  .strictObject({
    url: z
      .string()
      .regex(/^(rediss?:\/\/|unix:\/\/\/)/, {
        message: 'must start with redis://, rediss:// (TLS) or unix:/// (a socket path)',
      })
      .default('redis://127.0.0.1:6379')
      .meta({
        description:
          'Where Redis is: `redis://[user:password@]host:port[/db]`, `rediss://…` for TLS, or `unix:///path/to/redis.sock`. Put credentials in `username`/`password` (or the whole URL in `${REDIS_URL}`): a substituted URL is treated as a secret.',
        example: '${REDIS_URL}',
      }),
    username: z.string().min(1).optional().meta({ description: 'ACL user (Redis 6+).', secret: true }),
    password: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Password (`AUTH`).', example: '${REDIS_PASSWORD}', secret: true }),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, {
        message: 'must be 1-64 letters, digits, `_`, `.` or `-`',
      })
      .default('hookrelay')
      .meta({
        description:
          'Prefix of every key the relay writes, so several deployments share one Redis without seeing each other’s deliveries. Instances that share work must use the same prefix.',
        example: 'hookrelay-prod',
      }),
    tls: z
      .strictObject({
        ca: z.string().optional().meta({
          description: 'PEM of the CA that signed the server certificate (system CAs otherwise).',
          example: '${file:/etc/hookrelay/redis-ca.pem}',
        }),
        cert: z.string().optional().meta({
          description: 'PEM client certificate, when Redis asks for one (`tls-auth-clients`).',
          example: '${file:/etc/hookrelay/redis-client.pem}',
        }),
        key: z.string().optional().meta({
          description: 'PEM private key of `cert`.',
          example: '${file:/etc/hookrelay/redis-client.key}',
          secret: true,
        }),
        servername: z
          .string()
          .optional()
          .meta({ description: 'SNI and certificate name to check, when not the URL host.' }),
        rejectUnauthorized: z.boolean().default(true).meta({
          description:
            'Check the server certificate. Turn off only against a test server: anyone on the path could read every webhook.',
        }),
      })
      .optional()
      .meta({ description: 'TLS settings for `rediss://` (and for Sentinel-discovered masters).' }),
    sentinels: z
      .array(
        z.strictObject({
          host: z.string().min(1).meta({ description: 'Sentinel host.' }),
          port: z.coerce
            .number()
            .int()
            .min(1)
            .max(65535)
            .default(26379)
            .meta({ description: 'Sentinel port.' }),
        }),
      )
      .min(1)
      .optional()
      .meta({
        description:
          'Redis Sentinel: the sentinels asked for the current master of `masterName` (the URL host is then not used; its credentials, db and TLS are). On failover the relay reconnects to the new master.',
        example: [{ host: 'sentinel-0', port: 26379 }],
      }),
    masterName: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'The Sentinel master name (required with `sentinels`).', example: 'mymaster' }),
    sentinelPassword: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Password of the sentinels themselves.', secret: true }),
    commandTimeout: duration(
      'Longest wait for Redis to confirm a write: beyond it the caller gets 503 `HOOKRELAY_ERR_QUEUE_UNAVAILABLE` with `Retry-After` (never a 2xx for a webhook that may not be stored).',
      '2s',
    ).default(2_000),
    connectTimeout: duration('Longest wait for a connection to Redis.', '5s').default(5_000),
    waitReplicas: z.number().int().min(0).max(16).default(0).meta({
      description:
        'Before acknowledging, wait (`WAIT`) until this many replicas have the write; 503 when fewer confirm within `waitTimeout`. Without it, a failover to a replica that had not received the write loses webhooks already acknowledged (Redis replication is asynchronous).',
      example: 1,
    }),
    waitTimeout: duration('Longest `WAIT` for `waitReplicas`.', '1s').default(1_000),
    durability: z.enum(['warn', 'refuse']).default('warn').meta({
      description:
        'At start the relay reads `appendonly`, `appendfsync` and `maxmemory-policy`. When an acknowledged webhook could be lost on a Redis crash (`appendonly` not `yes`, `appendfsync` not `always`) or evicted (`maxmemory-policy` not `noeviction`): `warn` logs a warning naming the setting; `refuse` does not start.',
    }),
  })
  .superRefine((redis, ctx) => {
    if (redis.sentinels !== undefined && redis.masterName === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['masterName'],
        message: '`sentinels` needs `masterName`, the master the sentinels are asked for',
        params: configCode('HOOKRELAY_CONFIG_MISSING_KEY'),
      });
    if (redis.masterName !== undefined && redis.sentinels === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['sentinels'],
        message: '`masterName` is only used with `sentinels`',
        params: configCode('HOOKRELAY_CONFIG_CONFLICT'),
      });
  })
  .prefault({})
  .meta({
    description:
      'The redis driver: where Redis is and how durable an acknowledgement must be (see docs/scale-out.md).',
  });

export const queueSection = z
  .strictObject({
    driver: z
      .enum(DRIVERS.types() as [string, ...string[]])
      .default('sqlite')
      .meta({
        description: DRIVERS.types()
          .map((type) => `\`${type}\`: ${DRIVERS.get(type).description}`)
          .join(' '),
      }),
    path: z
      .string()
      .default('./data/hookrelay.db')
      .meta({ description: 'SQLite file (created with its folder).' }),
    redis: redisSection,
    retention: z
      .strictObject({
        delivered: duration('How long delivered records are kept before they are purged.', '7d').default(
          7 * 86_400_000,
        ),
        dead: duration('How long dead letters are kept before they are purged.', '30d').default(
          30 * 86_400_000,
        ),
      })
      .prefault({})
      .meta({ description: 'Automatic purge of finished records.' }),
    maxPending: z
      .number()
      .int()
      .min(1)
      .default(1_000_000)
      .meta({ description: 'Pending deliveries allowed across all routes (503 beyond it).' }),
    maxPendingBytes: size(
      'Bytes of pending deliveries allowed across all routes: bodies and kept attempt history (503 beyond it).',
      '1gb',
    ).default(1024 * 1024 * 1024),
    keepAttempts: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(DEFAULT_KEEP_ATTEMPTS)
      .meta({
        description: `Attempts kept in a delivery's history: the first one and the last \`keepAttempts\`. Those in between are dropped and counted (\`attemptsDropped\` in the admin API), so a delivery retried for a day keeps a bounded history. Each kept attempt counts ${ATTEMPT_ROW_BYTES} bytes plus its error text toward \`maxPendingBytes\`.`,
        example: 10,
      }),
  })
  .prefault({})
  .meta({ description: 'The durable queue behind `async` and `hybrid` routes.' });

export const adminSection = z
  .strictObject({
    enabled: z
      .union([z.boolean(), z.literal('auto')])
      .default('auto')
      .meta({
        description:
          'Serve the admin listener: the API (deliveries, queue stats, `GET /config`, `POST /reload`) and the web console. `auto`: when a route queues (async, hybrid, or queued fan-out targets), including once a reload adds one; `true`: always, e.g. for the console and `POST /reload` of a relay whose routes are all sync; `false`: never.',
      }),
    host: z
      .string()
      .default('127.0.0.1')
      .meta({ description: 'Admin listen address; anything but loopback requires `token`.' }),
    port: z.coerce.number().int().min(0).max(65535).default(9090).meta({ description: 'Admin listen port.' }),
    allowedHosts: z
      .array(
        z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._:-]+)$/, {
          message: 'must be a host name or address, without a port',
        }),
      )
      .default([])
      .meta({
        description:
          "Host names (the `Host` header, port ignored) the admin API answers to besides its own address, the loopback names when it listens on loopback, and the machine's names and addresses when it listens on all interfaces: e.g. a proxy or Kubernetes Service name in front of it. Any other `Host` is refused with 403, so a web page that re-binds its own DNS name to this machine cannot read the API.",
        example: ['hookrelay-admin.ops.svc'],
      }),
    token: z.string().min(16).optional().meta({
      description: 'Bearer token for the admin API.',
      example: '${HOOKRELAY_ADMIN_TOKEN}',
      secret: true,
    }),
  })
  .prefault({})
  .meta({ description: 'The admin API, on its own listener.' });
