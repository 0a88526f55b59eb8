/**
 * docs/configuration.md: the prose of configuration.md.tmpl with its examples checked against the
 * real loader (so they cannot rot), then an index of every key and one section per object of the
 * schema, with an entry per field: type, constraints, default, example, and whether it is a secret.
 */
import { dump } from 'js-yaml';
import {
  constraints,
  defaultValue,
  describeType,
  type Field,
  type JsonSchema,
  type Section,
  walk,
  yamlEntry,
} from './config-schema.ts';
import { code, headingAnchors, tableRow } from './markdown.ts';
import { ConfigError, parseConfig, parseDuration, parseSize, SOURCE } from './sources.ts';
import { pageFile, renderPage } from './template.ts';

const TEMPLATE = 'configuration.md.tmpl';

const SECRET_NOTE =
  '**Secret.** Give it as `${VAR}` or `${file:/path}`, never inline in the file; hookrelay never logs it.';

/** The rows of the "Durations and sizes" table: a duration and a size per row. */
const UNIT_EXAMPLES = [
  ['500ms', '512b'],
  ['10s', '64kb'],
  ['1.5s', '1mb'],
  ['5m', '1.5mb'],
  ['1h', '1gb'],
] as const;

/** The page's example configs, validated, and the errors of the invalid one as the CLI prints them. */
function examples(): Record<string, string> {
  const env = { TARGET_TOKEN: 'x' };
  const minimal = pageFile('configuration-examples/minimal.yaml');
  parseConfig(minimal.text, minimal.path, { env });
  const overrides = pageFile('configuration-examples/overrides.yaml');
  parseConfig(overrides.text, overrides.path, { env: {} });
  const invalid = pageFile('configuration-examples/invalid.yaml');
  let errors = '';
  try {
    // Under the default file name: the page shows what a user sees for their own hookrelay.yaml.
    parseConfig(invalid.text, 'hookrelay.yaml', { env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const n = error.issues.length;
    errors = `hookrelay: invalid configuration (${n} error${n === 1 ? '' : 's'})\n${error.message}`;
  }
  if (!errors) throw new Error(`${invalid.path} unexpectedly validated`);
  return {
    'invalid-config-errors': errors,
    'minimal-config': minimal.text.trimEnd(),
    'overrides-config': overrides.text.trimEnd(),
  };
}

function unitRows(): string {
  return UNIT_EXAMPLES.map(([d, s]) =>
    tableRow([code(d), String(parseDuration(d)), code(s), String(parseSize(s))]),
  ).join('\n');
}

export function renderConfiguration(input: JsonSchema, output: JsonSchema): string {
  const sections = walk(input, output);
  const byPath = new Map<string, Field>();
  for (const s of sections) for (const f of s.fields) if (!s.variant) byPath.set(f.path, f);
  const anchors = new Set<string>();
  const claim = (anchor: string) => {
    if (anchors.has(anchor)) throw new Error(`duplicate heading anchor #${anchor}`);
    anchors.add(anchor);
  };
  // The template's own headings ("Interpolation", "All keys", ...) are taken before any section's.
  for (const anchor of headingAnchors(pageFile(TEMPLATE).text)) claim(anchor);

  /** Route-level overrides point at the default they replace. */
  const inherited = (path: string): Field | undefined => {
    const m = /^routes\[\]\.(.+)$/.exec(path);
    return m ? byPath.get(`defaults.${m[1]}`) : undefined;
  };
  const defaultText = (f: Field): string | undefined => {
    const own = defaultValue(f.schema, f.output);
    if (own !== undefined) return code(own);
    const base = inherited(f.path);
    if (!base) return undefined;
    const value = defaultValue(base.schema, base.output);
    return `[\`${base.path}\`](#${base.anchor})${value !== undefined ? ` (${code(value)})` : ''}`;
  };

  // Index of every key.
  const keyRows: string[] = [];
  for (const s of sections) {
    for (const f of s.fields) {
      if (f.section?.variants.length) {
        keyRows.push(
          `| [\`${f.path}\`](#${f.anchor}) | ${describeType(f.schema, f.output)} | | ${f.required ? 'required' : ''} |`,
        );
        continue;
      }
      const key = s.variant ? `${f.path}\` (${s.variant})` : `${f.path}\``;
      const type = f.section
        ? f.schema.type === 'array'
          ? 'list of objects'
          : 'object'
        : describeType(f.schema, f.output);
      const notes = [f.required ? 'required' : '', f.schema.secret ? '**secret**' : '']
        .filter(Boolean)
        .join(', ');
      keyRows.push(`| [\`${key}](#${f.anchor}) | ${type} | ${defaultText(f) ?? ''} | ${notes} |`);
    }
  }

  const out: string[] = [];
  for (const s of sections) {
    if (s.path === '') continue;
    claim(s.anchor);
    out.push(`## ${s.heading}`, '');
    if (s.schema.description) out.push(s.schema.description, '');
    if (s.variants.length) {
      out.push(
        `Chosen by \`type\`: ${s.variants.map((v) => `[\`${v.variant}\`](#${v.anchor})`).join(', ')}.`,
        '',
      );
      continue;
    }
    out.push(...inheritance(s, sections));
    if (s.variant) out.push(...variantExample(s));
    const subsections = s.fields.filter((f) => f.section);
    if (subsections.length) {
      out.push(
        ...subsections.map(
          (f) =>
            `- [\`${f.path}${f.schema.type === 'array' ? '[]' : ''}\`](#${f.anchor})${f.schema.description ? `: ${f.schema.description}` : ''}`,
        ),
        '',
      );
    }
    for (const f of s.fields) {
      if (f.section) continue;
      claim(f.anchor);
      out.push(...fieldEntry(s, f, defaultText(f)));
    }
  }

  return renderPage(TEMPLATE, SOURCE.config, {
    ...examples(),
    'unit-rows': unitRows(),
    'key-rows': keyRows.join('\n'),
    sections: out.join('\n'),
  });
}

/** `defaults.x` and `routes[].x` sections point at each other: the one inherits from the other. */
function inheritance(s: Section, sections: Section[]): string[] {
  const defaultsMatch = /^defaults\.(.+)$/.exec(s.path);
  if (defaultsMatch) {
    const route = sections.find((r) => r.path === `routes[].${defaultsMatch[1]}`);
    if (route) {
      return [
        `Every route inherits these; a route overrides any key in [\`${route.path}\`](#${route.anchor}).`,
        '',
      ];
    }
  }
  const routeMatch = /^routes\[\]\.(.+)$/.exec(s.path);
  if (routeMatch) {
    const base = sections.find((r) => r.path === `defaults.${routeMatch[1]}`);
    if (base) return [`Keys not set here are inherited from [\`${base.path}\`](#${base.anchor}).`, ''];
  }
  return [];
}

/** A variant's fields' examples combined into one YAML block, under the key that holds it. */
function variantExample(s: Section): string[] {
  const example: Record<string, unknown> = { type: s.variant };
  for (const f of s.fields) {
    if (f.schema.example !== undefined && !f.schema.exampleAlone) example[f.key] = f.schema.example;
  }
  return ['```yaml', dump({ [s.path.split('.').pop()!]: example }, { lineWidth: -1 }).trimEnd(), '```', ''];
}

/** A field's own entry: heading, description, then type, required, default and example as a list. */
function fieldEntry(s: Section, f: Field, def: string | undefined): string[] {
  const out = [`### ${s.variant ? `\`${f.path}\` (${s.variant})` : `\`${f.path}\``}`, ''];
  const description = [
    f.schema.description,
    f.schema.items?.description && `Each item: ${f.schema.items.description}`,
  ]
    .filter(Boolean)
    .join(' ');
  if (description) out.push(description, '');
  const facts: string[] = [];
  const range = constraints(f.schema);
  const items = f.schema.items ? constraints(f.schema.items) : [];
  let type = describeType(f.schema, f.output);
  if (range.length) type += ` (${range.join(', ')})`;
  if (items.length) type += `; each item ${items.join(', ')}`;
  if (f.schema['x-coerce']) type += `; a string of digits is accepted too, e.g. from \`\${PORT:-8080}\``;
  facts.push(`Type: ${type}`);
  if (f.required) facts.push('Required');
  if (def) facts.push(`Default: ${def}`);
  if (f.schema.example !== undefined) facts.push(`Example: ${code(yamlEntry(f.key, f.schema.example))}`);
  out.push(...facts.map((fact) => `- ${fact}`), '');
  if (f.schema.secret) out.push(SECRET_NOTE, '');
  return out;
}
