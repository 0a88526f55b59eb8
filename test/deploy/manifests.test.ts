import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CORE_SCHEMA, load, loadAll, mergeTag, YAML11_SCHEMA } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { compileRoutes } from '../../src/config/compile.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { parseDuration } from '../../src/core/units.ts';

/**
 * The deployment files in deploy/ (docker compose, nginx, Kubernetes), checked by parsing only:
 * no docker or kubectl runs here. What they promise is checked against each other and against the
 * relay itself: each configuration loads with the real loader, and the ports, paths, grace
 * periods, selectors and secrets that the manifests name are the ones the configuration uses.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const KUBE = join(DEPLOY, 'kubernetes');
const read = (path: string) => readFileSync(path, 'utf8');

/**
 * The longest a relay takes to stop after SIGTERM (App.stop in src/app.ts): requests in flight get
 * `server.shutdownGrace`, then deliveries in flight up to half of it (at least 1 s) to finish or
 * give their lease back. A supervisor's grace period must be longer, or SIGKILL cuts the drain.
 */
const worstCaseStop = (config: Config) =>
  config.server.shutdownGrace + Math.max(1_000, config.server.shutdownGrace / 2);

/** `--flag value` pairs of a command line (a list, or a string split on spaces). */
function flags(command: string[] | string | undefined): Map<string, string> {
  const words = typeof command === 'string' ? command.split(/\s+/) : (command ?? []);
  const out = new Map<string, string>();
  words.forEach((word, i) => {
    if (word.startsWith('--') && words[i + 1] !== undefined) out.set(word, String(words[i + 1]));
  });
  return out;
}

/** The value after `-c` or `--config`. */
function configArg(command: string[] | undefined): string | undefined {
  const words = command ?? [];
  const i = words.findIndex((w) => w === '-c' || w === '--config');
  return i === -1 ? undefined : words[i + 1];
}

/** Redis started so that what it acknowledged survives a crash and is never evicted. */
function expectDurableRedis(command: string[] | string | undefined) {
  const f = flags(command);
  expect(f.get('--appendonly')).toBe('yes');
  expect(f.get('--appendfsync')).toBe('always');
  expect(f.get('--maxmemory-policy')).toBe('noeviction');
  expect(f.get('--maxmemory')).toMatch(/^\d+(mb|gb)$/);
}

/** A Go duration as compose writes them: `30s`, `1m30s`, `1500ms`. */
function goDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  expect(parts.map((p) => p[0]).join(''), `duration '${text}'`).toBe(text);
  return parts.reduce((ms, p) => ms + parseDuration(p[0]), 0);
}

/** Compose's own interpolation of a value, with nothing set in the shell: `${A:-x}` is `x`. */
function composeValue(value: string): string {
  return value
    .replace(/(?<!\$)\$\{(\w+)(?::?-([^}]*))?\}/g, (whole, _name, fallback: string | undefined) => {
      expect(fallback, `${whole} needs a default: nothing is set when the test reads it`).toBeDefined();
      return fallback!;
    })
    .replaceAll('$$', '$');
}

/** A `${file:…}` reader that knows only the given files, as the container sees them. */
function secretFiles(paths: string[]) {
  return (path: string) => {
    if (paths.includes(path)) return 'dummy-secret-value-0123456789\n';
    throw Object.assign(new Error(`no such file ${path}`), { code: 'ENOENT' });
  };
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Object.keys(selector ?? {}).length > 0 &&
  Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);

// --- docker compose --------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string>;
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  healthcheck?: { test: string[] | string };
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

// Compose reads merge keys (`<<: *relay`); js-yaml's default schema leaves them out.
const compose = load(read(join(DEPLOY, 'docker-compose.yml')), {
  schema: CORE_SCHEMA.withTags(mergeTag),
}) as Compose;
const RELAYS = ['relay-a', 'relay-b'];

/** A short-syntax volume, `source:target[:mode]`. */
function volume(spec: string) {
  const [source, target, mode] = spec.split(':');
  return { source: source!, target: target!, mode };
}

/** The relay service's config file: where its `-c` points, the mounted host file, its config. */
function relayConfig(name: string) {
  const service = compose.services[name]!;
  const path = configArg(service.command as string[]);
  const mount = (service.volumes ?? []).map(volume).find((v) => v.target === path);
  const secrets = (service.secrets ?? []).map((s) => `/run/secrets/${s}`);
  const env = Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [key, composeValue(String(value))]),
  );
  return { service, path, mount, secrets, env };
}

function loadRelayConfig(name: string): Config {
  const { mount, env, secrets } = relayConfig(name);
  const file = join(DEPLOY, mount!.source);
  return parseConfig(read(file), file, { env, readFile: secretFiles(secrets) });
}

describe('deploy/docker-compose.yml', () => {
  it('runs Redis and two relays built from the repository Dockerfile', () => {
    const services = Object.keys(compose.services);
    expect(services).toContain('redis');
    for (const name of RELAYS) expect(services).toContain(name);
    // No third relay by accident: every service built from the Dockerfile is one of the two.
    expect(services.filter((s) => compose.services[s]!.build !== undefined).sort()).toEqual(RELAYS);
    for (const name of RELAYS) {
      const { build } = compose.services[name]!;
      expect(resolve(DEPLOY, build!.context)).toBe(ROOT);
      expect(existsSync(join(DEPLOY, build!.context, build!.dockerfile ?? 'Dockerfile'))).toBe(true);
    }
  });

  it('starts Redis durable: append-only, fsync always, noeviction, with a volume and a healthcheck', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^(redis|valkey\/valkey):/);
    expectDurableRedis(redis.command);
    const data = (redis.volumes ?? []).map(volume).find((v) => v.target === '/data');
    expect(data, 'a volume at /data').toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(data!.source);
    const check = [redis.healthcheck?.test ?? []].flat().join(' ');
    expect(check).toMatch(/redis-cli .*ping/);
  });

  it.each(RELAYS)('%s mounts the config read-only, starts with -c on it, after Redis is healthy', (name) => {
    const { service, path, mount } = relayConfig(name);
    expect(service.command).toContain('start');
    expect(path).toBeDefined();
    expect(mount, `a volume mounted at ${path}`).toBeDefined();
    expect(mount!.mode).toBe('ro');
    expect(mount!.source).toBe('./hookrelay.yaml');
    expect(service.depends_on?.redis?.condition).toBe('service_healthy');
  });

  it.each(RELAYS)('%s: the config loads with the relay loader, queue on Redis, durability refuse', (name) => {
    const config = loadRelayConfig(name);
    expect(config.queue.driver).toBe('redis');
    expect(config.queue.redis.durability).toBe('refuse');
    expect(new URL(config.queue.redis.url).hostname).toBe('redis');
    expect(compileRoutes(config).length).toBe(config.routes.length);
  });

  it.each(RELAYS)('%s: every secret file it reads is a compose secret, none in the environment', (name) => {
    const { service, mount } = relayConfig(name);
    const source = read(join(DEPLOY, mount!.source));
    const files = [...source.matchAll(/\$\{file:([^}]+)\}/g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const secret = /^\/run\/secrets\/([\w.-]+)$/.exec(file)?.[1];
      expect(secret, file).toBeDefined();
      expect(service.secrets).toContain(secret);
      expect(compose.secrets?.[secret!]?.file, `top-level secret ${secret}`).toBeDefined();
    }
    expect(
      Object.keys(service.environment ?? {}).filter((k) => /PASSWORD|TOKEN|SECRET|_KEY$/.test(k)),
    ).toEqual([]);
  });

  it.each(RELAYS)('%s: stop_grace_period outlasts server.shutdownGrace and the delivery drain', (name) => {
    const config = loadRelayConfig(name);
    const grace = goDuration(compose.services[name]!.stop_grace_period ?? '10s');
    expect(grace).toBeGreaterThan(worstCaseStop(config));
  });

  it('the secret files are git-ignored, so none is committed', () => {
    const ignore = read(join(DEPLOY, 'secrets/.gitignore'));
    expect(ignore).toMatch(/^\*$/m);
    for (const { file } of Object.values(compose.secrets ?? {})) {
      expect(resolve(DEPLOY, dirname(file!))).toBe(join(DEPLOY, 'secrets'));
    }
  });

  const nginx = compose.services.nginx;
  it.runIf(nginx !== undefined)('nginx balances over both relays on their port, trusted by them', () => {
    const conf = read(join(DEPLOY, 'nginx.conf'));
    const mounted = (nginx!.volumes ?? []).map(volume).find((v) => v.target === '/etc/nginx/nginx.conf');
    expect(mounted?.source).toBe('./nginx.conf');
    expect(mounted?.mode).toBe('ro');
    const upstream = /upstream (\w+) \{([^}]*)\}/.exec(conf);
    expect(upstream, 'an upstream block').not.toBeNull();
    expect(conf).toContain(`proxy_pass http://${upstream![1]};`);
    const servers = [...upstream![2]!.matchAll(/^\s*server ([\w.-]+):(\d+)/gm)].map((m) => [
      m[1],
      Number(m[2]),
    ]);
    const configs = RELAYS.map(loadRelayConfig);
    expect(servers).toEqual(RELAYS.map((name, i) => [name, configs[i]!.server.port]));
    for (const name of RELAYS) expect(nginx!.depends_on?.[name]?.condition).toBe('service_healthy');
    // nginx must close an idle upstream connection before the relay does, or a request sent on it
    // as the relay closes it is lost.
    const idle = /keepalive_timeout (\w+);/.exec(upstream![2]!)?.[1];
    expect(idle, 'keepalive_timeout in the upstream').toBeDefined();
    for (const config of configs) expect(parseDuration(idle!)).toBeLessThan(config.server.keepAliveTimeout);
    // The relays count callers by the X-Forwarded-For nginx sends, not as one client.
    expect(conf).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
    const networks = nginx!.networks as Record<string, { ipv4_address?: string }>;
    const address = Object.values(networks)[0]?.ipv4_address;
    for (const config of configs) expect(config.server.perClient.trustedProxies).toContain(address);
  });
});

// --- Kubernetes ------------------------------------------------------------------------------

interface Probe {
  httpGet?: { path: string; port: string | number };
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: unknown[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
}

interface PodSpec {
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    ports?: { port: number; targetPort?: string | number }[];
    serviceName?: string;
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  resources?: string[];
}

const kubeFiles = readdirSync(KUBE)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
// YAML 1.1, as Kubernetes reads manifests: an unquoted `yes` would be a boolean there.
const manifests = kubeFiles.flatMap((file) =>
  (loadAll(read(join(KUBE, file)), { schema: YAML11_SCHEMA }) as (Manifest | null)[])
    .filter((doc): doc is Manifest => doc !== null)
    .map((doc) => ({ file, doc })),
);
const objects = manifests.map((m) => m.doc).filter((doc) => doc.kind !== 'Kustomization');

function one(kind: string, file?: string): Manifest {
  const found = manifests.filter((m) => m.doc.kind === kind && (file === undefined || m.file === file));
  expect(
    found.map((m) => m.file),
    `one ${kind}`,
  ).toHaveLength(1);
  return found[0]!.doc;
}

const deployment = one('Deployment');
const pod = deployment.spec!.template!;
const relay = pod.spec.containers[0]!;
const configMap = one('ConfigMap');
const secret = one('Secret', 'secret.example.yaml');

/** The relay's environment as the Deployment builds it, from the example Secret's values. */
function relayEnv(): Record<string, string> {
  return Object.fromEntries(
    (relay.env ?? []).map((v) => [v.name, secret.stringData?.[v.valueFrom?.secretKeyRef?.key ?? ''] ?? '']),
  );
}

/** Where `-c` points, and the ConfigMap key mounted there. */
function mountedConfig() {
  const path = configArg(relay.args ?? relay.command);
  expect(path, 'the container args pass -c FILE').toBeDefined();
  for (const mount of relay.volumeMounts ?? []) {
    const volume = pod.spec.volumes?.find((v) => v.name === mount.name);
    if (volume?.configMap === undefined) continue;
    const key = mount.subPath ?? (dirname(path!) === mount.mountPath ? basename(path!) : undefined);
    if (key !== undefined && (mount.subPath === undefined || mount.mountPath === path))
      return { path, mount, volume, key };
  }
  return { path, mount: undefined, volume: undefined, key: undefined };
}

function kubeConfig(): Config {
  const { key } = mountedConfig();
  const source = configMap.data?.[key!];
  expect(source, `ConfigMap key ${key}`).toBeDefined();
  return parseConfig(source!, `configmap.yaml (${key})`, { env: relayEnv(), readFile: secretFiles([]) });
}

/** A probe's or Service's port, named or numbered, as the container port number. */
function containerPort(port: string | number | undefined): number | undefined {
  const ports = relay.ports ?? [];
  return typeof port === 'number'
    ? ports.find((p) => p.containerPort === port)?.containerPort
    : ports.find((p) => p.name === port)?.containerPort;
}

describe('deploy/kubernetes', () => {
  it('every document is a Kubernetes object with a name', () => {
    expect(kubeFiles).toEqual(
      expect.arrayContaining(['configmap.yaml', 'deployment.yaml', 'pdb.yaml', 'secret.example.yaml']),
    );
    for (const { file, doc } of manifests) {
      expect(doc.apiVersion, file).toMatch(/^[\w.]+\/?\w*$/);
      expect(doc.kind, file).toMatch(/^[A-Z]\w+$/);
      if (doc.kind !== 'Kustomization') expect(doc.metadata?.name, file).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('container commands and args are strings as Kubernetes reads them (YAML 1.1)', () => {
    for (const doc of objects) {
      for (const container of doc.spec?.template?.spec.containers ?? []) {
        for (const word of [...(container.command ?? []), ...(container.args ?? [])]) {
          expect(typeof word, `${doc.kind} ${container.name}: ${String(word)}`).toBe('string');
        }
      }
    }
  });

  it('the ConfigMap config loads with the relay loader and queues on Redis', () => {
    const config = kubeConfig();
    expect(config.queue.driver).toBe('redis');
    expect(compileRoutes(config).length).toBe(config.routes.length);
  });

  it('the Deployment runs 2 replicas with the ConfigMap mounted read-only where -c points', () => {
    expect(deployment.spec!.replicas).toBe(2);
    expect(relay.args ?? relay.command).toContain('start');
    const { mount, volume } = mountedConfig();
    expect(mount, 'a ConfigMap volume mounted where -c points').toBeDefined();
    expect(mount!.readOnly).toBe(true);
    expect(volume!.configMap!.name).toBe(configMap.metadata.name);
  });

  it('readiness is /readyz and liveness /healthz, on the container port that is server.port', () => {
    const port = kubeConfig().server.port;
    expect(relay.ports?.map((p) => p.containerPort)).toContain(port);
    expect(relay.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(containerPort(relay.readinessProbe?.httpGet?.port)).toBe(port);
    expect(relay.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(containerPort(relay.livenessProbe?.httpGet?.port)).toBe(port);
  });

  it('every environment variable comes from the Secret (secretKeyRef), none is written out', () => {
    expect(relay.env?.length).toBeGreaterThan(0);
    expect(relay.envFrom).toBeUndefined();
    for (const v of relay.env ?? []) {
      expect(v.value, v.name).toBeUndefined();
      expect(v.valueFrom?.secretKeyRef?.name, v.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData ?? {}), v.name).toContain(v.valueFrom!.secretKeyRef!.key);
    }
    // And the config needs exactly these: one more `${VAR}` would fail at start.
    const { key } = mountedConfig();
    const wanted = [...configMap.data![key!]!.matchAll(/(?<!\$)\$\{([A-Za-z_]\w*)\}/g)].map((m) => m[1]);
    expect([...new Set(wanted)].sort()).toEqual((relay.env ?? []).map((v) => v.name).sort());
  });

  it('secret.example.yaml holds placeholders only', () => {
    expect(read(join(KUBE, 'secret.example.yaml'))).toMatch(/EXAMPLE ONLY/);
    for (const [key, value] of Object.entries(secret.stringData ?? {})) {
      if (/^rediss?:\/\//.test(value)) expect(new URL(value).password, key).toBe('');
      else expect(value, key).toMatch(/^CHANGE_ME/);
    }
    expect(secret.data).toBeUndefined();
  });

  it('terminationGracePeriodSeconds outlasts the preStop sleep and the relay shutdown', () => {
    const preStop = relay.lifecycle?.preStop;
    const sleep =
      preStop?.sleep?.seconds ??
      Number(/^sleep$/.test(preStop?.exec?.command[0] ?? '') ? preStop?.exec?.command[1] : NaN);
    expect(sleep, 'a preStop sleep').toBeGreaterThan(0);
    const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
    expect(grace * 1000).toBeGreaterThan(sleep * 1000 + worstCaseStop(kubeConfig()));
  });

  it('resources are bounded, and the relay runs non-root on a read-only root file system', () => {
    expect(Object.keys(relay.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(relay.resources?.limits?.memory).toBeDefined();
    const security = { ...pod.spec.securityContext, ...relay.securityContext };
    expect(security.runAsNonRoot).toBe(true);
    // A user name in the image cannot be checked by the kubelet against runAsNonRoot.
    expect(security.runAsUser).toBeGreaterThan(0);
    expect(security.allowPrivilegeEscalation).toBe(false);
    expect(security.readOnlyRootFilesystem).toBe(true);
    // Possible only because nothing is written: the SQLite queue would need a writable volume.
    expect(kubeConfig().queue.driver).not.toBe('sqlite');
  });

  it('the Deployment, PDB and Service select the same pods', () => {
    const labels = pod.metadata.labels;
    expect(matches(deployment.spec!.selector!.matchLabels, labels)).toBe(true);
    const pdb = one('PodDisruptionBudget');
    expect(pdb.spec!.selector!.matchLabels).toEqual(deployment.spec!.selector!.matchLabels);
    const budget = pdb.spec!.minAvailable ?? pdb.spec!.maxUnavailable;
    expect(budget).toBe(1);
    const services = objects.filter((o) => o.kind === 'Service' && matches(o.spec!.selector, labels));
    expect(services.map((s) => s.metadata.name)).toEqual(['hookrelay']);
    for (const port of services[0]!.spec!.ports ?? []) {
      expect(containerPort(port.targetPort ?? port.port)).toBe(kubeConfig().server.port);
    }
  });

  it('Redis runs durable with a volume claim, behind the Service the Secret points at', () => {
    const redis = one('StatefulSet', 'redis.yaml');
    const container = redis.spec!.template!.spec.containers[0]!;
    expect(container.image).toMatch(/^(redis|valkey\/valkey):/);
    expectDurableRedis([...(container.command ?? []), ...(container.args ?? [])]);
    const claim = redis.spec!.volumeClaimTemplates?.[0]?.metadata.name;
    expect(container.volumeMounts?.find((m) => m.name === claim)?.mountPath).toBe('/data');
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === redis.spec!.serviceName);
    expect(matches(service?.spec?.selector, redis.spec!.template!.metadata.labels)).toBe(true);
    const url = new URL(kubeConfig().queue.redis.url);
    expect(url.hostname).toBe(service!.metadata.name);
    expect(Number(url.port || 6379)).toBe(service!.spec!.ports![0]!.port);
    expect(read(join(KUBE, 'redis.yaml'))).toMatch(/starting point/i);
  });

  it('the kustomization applies every manifest but the example Secret', () => {
    const kustomization = one('Kustomization');
    const expected = kubeFiles.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.example.yaml');
    expect([...(kustomization.resources ?? [])].sort()).toEqual(expected);
  });
});

describe('deploy/README.md', () => {
  it('links only to files that exist', () => {
    const text = read(join(DEPLOY, 'README.md'));
    const targets = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]!);
    expect(targets.length).toBeGreaterThan(5);
    expect(targets.filter((t) => !/^[a-z]+:/.test(t) && !existsSync(resolve(DEPLOY, t)))).toEqual([]);
  });
});
