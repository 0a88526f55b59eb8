/**
 * `hookrelay try`: one request through a route as the relay would handle it, nothing sent; prints
 * the request the target would get (credentials shown as where they go, never their values) and
 * the caller's answer.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { secretValuesOf } from '../config/secret-provenance.ts';
import { readLimited } from '../core/read-limited.ts';
import { shown } from '../present/redact.ts';
import { renderJson, renderText } from '../present/render.ts';
import { showAnswered } from './answered.ts';
import { describeFailure, dryRun } from './dry-run.ts';
import { renderTargets } from './dry-run-targets.ts';
import { parseHeaders, parseParams } from './inbound.ts';
import { configFile, loadForCommand } from './load.ts';

export const TRY_HELP = `Usage: hookrelay try [-c FILE] --route ID [--file BODY | < BODY] [options]

Runs a route's transform steps on an inbound call and prints the request that would be forwarded:
method, URL, headers (credentials redacted) and body. Nothing is sent anywhere. A \`fetch\` step
shows the lookup it would make and stops there (the steps after it need its answer), unless
--fetch is given.

Options:
  -c, --config FILE          config file (default: $HOOKRELAY_CONFIG, else config/hookrelay.yaml)
  -r, --route ID             the route to run
  -f, --file BODY            inbound body from this file, '-' for stdin (default: stdin unless a terminal)
  -t, --content-type TYPE    inbound Content-Type, e.g. 'text/xml; charset=utf-8'
  -X, --method METHOD        inbound method (default: the route's first)
  -q, --query 'a=1&b=2'      inbound query string
  -H, --header 'Name: value' inbound header (repeatable)
  -p, --param name=value     path parameter (repeatable); one not given stays ':name'
      --fetch                make the lookups of \`fetch\` steps for real (an OAuth2 token too) and go on
      --json                 print one JSON object: { method, url, headers, body, bodyEncoding }
                             (a route with \`targets\`: { targets: [{ name, role, routeId, method, ... }] })

A route's handshake, a rule that answers or drops the call, or a \`fetch\` step's \`answers\` entry
prints the caller's answer instead of a forwarded request; a rule that matches is named
(docs/routing.md).

Exit status: 0 when the request would be forwarded, a lookup is shown, or the relay answers by
itself (a handshake, a rule, a lookup's \`answers\`); 1 when a step, a rule's refusal (or the
config) fails it; 2 on a usage error. See docs/transforms.md and docs/routing.md.`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      config: { type: 'string', short: 'c' },
      route: { type: 'string', short: 'r' },
      file: { type: 'string', short: 'f' },
      'content-type': { type: 'string', short: 't' },
      method: { type: 'string', short: 'X' },
      query: { type: 'string', short: 'q' },
      header: { type: 'string', short: 'H', multiple: true, default: [] },
      param: { type: 'string', short: 'p', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      fetch: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

export async function runTry(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  let headers: Record<string, string[]>;
  let params: Record<string, string>;
  try {
    values = parse(argv).values;
    headers = parseHeaders(values.header);
    params = parseParams(values.param);
  } catch (error) {
    process.stderr.write(`hookrelay try: ${(error as Error).message}\n\n${TRY_HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${TRY_HELP}\n`);
    return 0;
  }
  const loaded = loadForCommand(configFile(values.config));
  if (!loaded) return 1;
  const { routes, config, file } = loaded;
  const ids = routes.map((r) => r.id).join(', ');
  if (values.route === undefined) {
    process.stderr.write(`hookrelay try: --route is required; routes in ${file}: ${ids}\n`);
    return 2;
  }
  const route = routes.find((r) => r.id === values.route);
  if (!route) {
    process.stderr.write(`hookrelay try: no route '${values.route}' in ${file}; routes: ${ids}\n`);
    return 1;
  }
  if (!('forward' in route)) {
    process.stderr.write(`hookrelay try: route ${route.id} does not forward (echo: true): nothing to try\n`);
    return 1;
  }
  let body: Buffer;
  try {
    body = await readBody(values.file, route.limits.body);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    process.stderr.write(`hookrelay try: cannot read ${values.file ?? 'stdin'}: ${code}\n`);
    return 1;
  }
  const requestIdHeader = config.server.requestIdHeader;
  const result = await dryRun(
    route,
    {
      method: values.method,
      params,
      query: values.query,
      headers,
      contentType: values['content-type'],
      body,
    },
    requestIdHeader,
    `try-${randomBytes(6).toString('hex')}`,
    values.fetch ? { kind: 'live' } : { kind: 'preview' },
  );
  // Every value the configuration took from ${VAR} or ${file:…} is hidden, wherever it appears.
  const secrets = secretValuesOf(config);
  if (result.ok === 'stopped') {
    const lookup = shown(result.lookup, secrets);
    if (values.json) {
      process.stdout.write(secrets.redact(`${JSON.stringify({ stoppedAt: result.step.name, lookup })}\n`));
      return 0;
    }
    const head = `# lookup of ${result.step.name}, not made (\`hookrelay try --fetch\` makes it):\n`;
    const tail = `\n# the steps after it need its answer (under \`${result.into}\`): stopped here, nothing forwarded\n`;
    process.stdout.write(
      secrets.redact(head + renderText(lookup, undefined).replace(/\n\(no body\)\n$/, '') + tail),
    );
    return 0;
  }
  if (!result.ok) {
    const { error, step } = result;
    process.stderr.write(
      secrets.redact(
        `${describeFailure(route.id, error, step)}\n` +
          `${error.code}: the relay would answer ${error.status} and forward nothing\n`,
      ),
    );
    return 1;
  }
  if (result.ok === 'answered') {
    process.stdout.write(secrets.redact(showAnswered(result, values.json)));
    return 0;
  }
  if (result.rule !== undefined && !values.json) process.stdout.write(`# rule ${result.rule} matched\n`);
  if (result.targets) {
    process.stdout.write(secrets.redact(renderTargets(result.targets, result.answer, values.json, secrets)));
    return 0;
  }
  const request = shown(result.authorised, secrets);
  const sent = result.authorised.request.body;
  const out = values.json ? renderJson(request, sent) : renderText(request, sent, result.answer);
  process.stdout.write(secrets.redact(out));
  return 0;
}

async function readBody(file: string | undefined, limit: number): Promise<Buffer> {
  if (file !== undefined && file !== '-') return readFileSync(file);
  if (file === undefined && process.stdin.isTTY) return Buffer.alloc(0);
  // Past the route's body limit the relay refuses the request (inbound.ts says so): one byte more
  // is enough to tell, the rest is not held in memory.
  return (await readLimited(process.stdin, limit, { truncateTo: limit + 1 })).body;
}
