/**
 * Libraries only some configurations use, loaded the first time one does: fast-xml-parser for
 * `xml`/`xml-out` steps and XML lookups, jsonata for `map` expressions and route conditions. Their
 * users compile at configuration time, which is synchronous, so they are taken through `require`
 * (both ship CommonJS; one copy per process whichever module asks). A relay with neither never
 * loads them: ~8 MB and ~5 MB of RSS and their share of the start (docs/performance.md).
 */
import { createRequire } from 'node:module';
import type jsonataFunction from 'jsonata';

const require = createRequire(import.meta.url);

type FastXmlParser = typeof import('fast-xml-parser');

let xml: FastXmlParser | undefined;
let jsonata: typeof jsonataFunction | undefined;

export function fastXmlParser(): FastXmlParser {
  xml ??= require('fast-xml-parser') as FastXmlParser;
  return xml;
}

/** jsonata's compile function (`jsonata(expression, options)`). */
export function jsonataCompiler(): typeof jsonataFunction {
  jsonata ??= require('jsonata') as typeof jsonataFunction;
  return jsonata;
}
