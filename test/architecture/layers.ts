/**
 * The folders of src/ in layers, lowest first: a folder imports only folders of lower layers, so
 * the graph cannot have a cycle. The plugin kinds share a layer and never import each other (a
 * plugin sees only the core). Runtime layers (delivery … modes) receive compiled objects and
 * never read the configuration's shape; config, above them, assembles the schema from the plugins'
 * and the modes' fragments and compiles routes for them. See the README's source map.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['core'], // errors, message types, header helpers, field kit, units, registry, templates, JSON
  ['auth', 'verifiers', 'handshakes', 'signers', 'transforms'], // plugins, one registry each
  ['telemetry'], // metrics definitions, the log
  ['delivery', 'parsing'], // one attempt, pools, the retry verdict; parsing worker threads
  ['enrich'], // the `fetch` transform step: a lookup with outbound auth on the delivery client
  ['pipeline'], // the request lifecycle and its shared stages
  ['queue'], // driver contract, drivers, workers
  ['modes'], // sync, async, hybrid, stream, echo
  ['config'], // schema assembly, load, compile
  ['present'], // how requests and deliveries are shown (cli and admin)
  ['ingress'], // the HTTP listener, router, connection limits
  ['admin'], // the admin API and console
  ['runtime'], // a loaded configuration compiled and served; reload as a swap; the config watch
  ['cli'], // commands
  ['app.ts'],
  ['main.ts'],
];
