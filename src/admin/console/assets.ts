/**
 * The console's two static files: htmx, served from the installed `htmx.org` package (no CDN: a
 * self-hosted relay may have no Internet access, and the CSP allows scripts only from the
 * listener itself), and the stylesheet beside this module. Both are read once, when the console
 * is created, and served with a long cache lifetime under a name that carries their hash.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Asset {
  path: string;
  type: string;
  body: Buffer;
}

export interface Assets {
  htmx: Asset;
  css: Asset;
  byPath: Map<string, Asset>;
}

function asset(name: string, ext: string, type: string, body: Buffer): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `/console/assets/${name}.${hash}.${ext}`, type, body };
}

export function loadAssets(): Assets {
  const htmxFile = fileURLToPath(import.meta.resolve('htmx.org/dist/htmx.min.js'));
  const htmx = asset('htmx', 'js', 'text/javascript; charset=utf-8', readFileSync(htmxFile));
  const css = asset(
    'console',
    'css',
    'text/css; charset=utf-8',
    readFileSync(new URL('./console.css', import.meta.url)),
  );
  return { htmx, css, byPath: new Map([htmx, css].map((a) => [a.path, a])) };
}
