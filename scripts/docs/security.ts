/**
 * docs/security.md: the prose of security.md.tmpl with the provider preset table and a section per
 * preset, both from the `preset` entry each provider preset in src/verifiers/ carries, in the
 * registry's order. Each section's YAML is a whole route, checked here by the config loader, so a
 * copied block always starts.
 */
import { code, escapeCell, slug, tableRow } from './markdown.ts';
import { ConfigError, type PresetDoc, parseConfig, SOURCE, verifierRegistry } from './sources.ts';
import { renderPage } from './template.ts';

interface Preset {
  type: string;
  doc: PresetDoc;
}

/** Every provider preset, in the registry's order. */
export function presets(): Preset[] {
  return verifierRegistry.types().flatMap((type) => {
    const doc = (verifierRegistry.get(type) as { preset?: PresetDoc }).preset;
    return doc ? [{ type, doc }] : [];
  });
}

const heading = (p: Preset) => `${p.doc.provider} (${code(p.type)})`;
/** The headers read, or what a scheme carried in the body reads instead. */
const headersRead = (p: Preset) =>
  p.doc.headers.length > 0 ? p.doc.headers.map(code).join(', ') : 'none: the signature is in the body';
const indent = (yaml: string, by: string) =>
  yaml
    .trimEnd()
    .split('\n')
    .map((line, i) => (i === 0 ? line : `${by}${line}`))
    .join('\n');

/** The route a section shows: the preset's `verify` item and, where it has one, its handshake. */
export function routeYaml(p: Preset): string {
  const lines = ['routes:', `  - id: ${p.type}`, `    path: /in/${p.type}`, '    verify:'];
  lines.push(`      - ${indent(p.doc.example, '        ')}`);
  if (p.doc.handshake) lines.push(`    handshake:`, `      ${indent(p.doc.handshake, '      ')}`);
  lines.push(`    forward: { url: "https://erp.internal.example/hooks/${p.type}" }`);
  return lines.join('\n');
}

// Values for the `${VAR}`s of the examples when they are checked: a secret, or a public key of
// either kind (examples quote keys as variables too).
const SECRET = 'example-secret-0123456789abcdef';
const ED25519 = 'de424cc969d2faf4811912078ee3216d7c04e54936d479d33ce1a0789d1ee823';
const P256 =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENXhkYdB6Re7Gjy5Wsy8EPxzYslqWSLIXDQ+x9OjtLPnxjTTyRQn/nyexFWDmLbvxIeqwgh7ALcx020TsmvKTVg==';
const HEX_KEY = '44782def547aaa06c910c43932b1eb0c71fc68d9d0c057550c48ec2acf6ba056';

/** Loads the section's route; a preset whose example does not load fails the generator. */
function check(p: Preset, yaml: string): void {
  const names = [...yaml.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!);
  let last: unknown;
  for (const value of [SECRET, HEX_KEY, ED25519, P256]) {
    try {
      parseConfig(yaml, `docs/security.md#${slug(heading(p))}`, {
        env: Object.fromEntries(names.map((name) => [name, value])),
      });
      return;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      last = error;
    }
  }
  throw new Error(`the ${p.type} preset's example does not load: ${(last as Error).message}`);
}

function table(list: Preset[]): string {
  const head = [
    tableRow([
      'provider',
      '`type`',
      'headers read',
      'what is signed',
      'scheme',
      'timestamp',
      'rotation',
      'document',
    ]),
    tableRow(['---', '---', '---', '---', '---', '---', '---', '---']),
  ];
  const rows = list.map((p) =>
    tableRow([
      `[${escapeCell(p.doc.provider)}](#${slug(heading(p))})`,
      code(p.type),
      headersRead(p),
      escapeCell(p.doc.signed),
      escapeCell(p.doc.scheme),
      escapeCell(p.doc.tolerance),
      escapeCell(p.doc.rotation),
      `[docs](${p.doc.docs})`,
    ]),
  );
  return [...head, ...rows].join('\n');
}

function section(p: Preset): string {
  const yaml = routeYaml(p);
  check(p, yaml);
  const facts = [
    `**Reads:** ${headersRead(p)}.`,
    `**Signed:** ${p.doc.signed}; ${p.doc.scheme}.`,
    `**Timestamp:** ${p.doc.tolerance}.`,
    `**Rotation:** ${p.doc.rotation}.`,
    `[${p.doc.provider}'s document](${p.doc.docs}).`,
  ].join(' ');
  return [`#### ${heading(p)}`, facts, p.doc.notes ?? '', `\`\`\`yaml\n${yaml}\n\`\`\``]
    .filter(Boolean)
    .join('\n\n');
}

export function renderSecurity(): string {
  const list = presets();
  return renderPage('security.md.tmpl', SOURCE.presets, {
    'preset-table': table(list),
    presets: list.map(section).join('\n\n'),
  });
}
