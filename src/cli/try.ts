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
import { describeFailure, dryRun } from './dry-run.ts';
import { renderTargets } from './dry-run-targets.ts';
import { parseHeaders, parseParams } from './inbound.ts';
import { configFile, loadForCommand } from './load.ts';

export const TRY_HELP = `Usage: hookrelay try [-c FILE] --route ID [--file BODY | < BODY] [options]

Runs a route's transform steps on an inbound call and prints the request that would be forwarded:
method, URL, headers (credentials redacted) and body. Nothing is sent anywhere.

Options:
  -c, --config FILE          config file (default: $HOOKRELAY_CONFIG, else config/hookrelay.yaml)
  -r, --route ID             the route to run
  -f, --file BODY            inbound body from this file, '-' for stdin (default: stdin unless a terminal)
  -t, --content-type TYPE    inbound Content-Type, e.g. 'text/xml; charset=utf-8'
  -X, --method METHOD        inbound method (default: the route's first)
  -q, --query 'a=1&b=2'      inbound query string
  -H, --header 'Name: value' inbound header (repeatable)
  -p, --param name=value     path parameter (repeatable); one not given stays ':name'
      --json                 print one JSON object: { method, url, headers, body, bodyEncoding }
                             (a route with \`targets\`: { targets: [{ name, role, routeId, method, ... }] })

Exit status: 0 when the request would be forwarded, 1 when a step (or the config) fails, 2 on a
usage error. See docs/transforms.md.`;

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
  );
  // Every value the configuration took from ${VAR} or ${file:…} is hidden, wherever it appears.
  const secrets = secretValuesOf(config);
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
