/**
 * The frame of every console page and how it is sent: the navigation, the stylesheet and htmx
 * from the listener, htmx configured by a `<meta>` (no inline script: the CSP forbids it), and
 * the security headers every console answer carries.
 */
import type { ServerResponse } from 'node:http';
import type { Assets } from './assets.ts';
import { html, type SafeHtml } from './html.ts';

/**
 * No inline script or style, nothing from elsewhere, never framed, forms only to the console;
 * `connect-src 'self'` because htmx fetches the deliveries table with XMLHttpRequest.
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
};

/**
 * htmx without its inline style (`includeIndicatorStyles`, the stylesheet has the rules), without
 * `eval` (`hx-on`, `js:` values) or running scripts found in swapped content, only to this origin,
 * keeping no page in sessionStorage (a delivery's body would stay there), and showing an error's
 * answer where the table was.
 */
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  selfRequestsOnly: true,
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
  // A refused filter (400) replaces the table with its message instead of doing nothing.
  responseHandling: [
    { code: '204', swap: false },
    { code: '[2345]..', swap: true, error: false },
  ],
});

export type Screen = 'routes' | 'deliveries' | 'dead' | 'purge' | 'login';

export interface PageContext {
  assets: Assets;
  /** The session's CSRF token, for the forms of the page (the logout button among them). */
  csrf: string;
  /** Whether the page offers a logout (a session logged in with the token). */
  loggedIn: boolean;
}

const NAV: [Screen, string, string][] = [
  ['routes', 'Routes', '/console'],
  ['deliveries', 'Deliveries', '/console/deliveries'],
  ['dead', 'Dead letters', '/console/deliveries?status=dead'],
  ['purge', 'Purge', '/console/purge'],
];

export function page(ctx: PageContext, screen: Screen, title: string, body: SafeHtml): SafeHtml {
  const nav =
    screen === 'login'
      ? html``
      : html`<nav>${NAV.map(
          ([id, label, href]) =>
            html`<a href="${href}"${id === screen ? html` aria-current="page"` : ''}>${label}</a>`,
        )}</nav>${
          ctx.loggedIn
            ? html`<form method="post" action="/console/logout">${csrfField(ctx.csrf)}<button type="submit">Log out</button></form>`
            : ''
        }`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<title>${title} · hookrelay console</title>
<link rel="stylesheet" href="${ctx.assets.css.path}">
<script src="${ctx.assets.htmx.path}" defer></script>
</head>
<body>
<header><h1>hookrelay</h1>${nav}</header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}

export function sendHtml(
  res: ServerResponse,
  status: number,
  body: SafeHtml,
  headers: Record<string, string | string[]> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const text = body.toString();
  res.writeHead(status, {
    ...headers,
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function redirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(303, { ...headers, ...SECURITY_HEADERS, location, 'content-length': '0' });
  res.end();
}

/** `12 s`, `4 min`, `3 h`, `2 d`: how old something is, for reading at a glance. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export function statusBadge(status: string): SafeHtml {
  return html`<span class="status status-${status}">${status}</span>`;
}
