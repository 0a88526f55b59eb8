/**
 * What a value inserted into the path of a configured URL may not hold, so that a placeholder
 * (a target's `{param}`, a `fetch` step's `{body.id}`) can never walk up or split the path it
 * lands in. Shared by the target URL templates (pipeline/url-template.ts) and the `fetch` step's
 * (enrich/url.ts).
 */

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;
/** A `;` path parameter (RFC 3986 §3.3), raw or encoded: servlet containers cut it off before resolving dots. */
const PATH_PARAMETER = /;|%3b/i;

/**
 * The rendered segment as a target that strips `;` parameters would see it: `..;jsessionid=1` is
 * `..` to Tomcat and Jetty, which then walk up the path.
 */
export function isDotSegment(segment: string): boolean {
  return DOT_SEGMENT.test(segment.split(PATH_PARAMETER, 1)[0]!);
}

/**
 * Why a (decoded) value may not be inserted into a path, or undefined. Percent-encoding keeps `/`
 * and `\` from splitting the segment for us, but a target that decodes `%2F` before routing sees
 * more segments than were checked; and a dot segment hidden behind a `;` parameter resolves like a
 * plain one.
 */
export function pathValueProblem(value: string): string | undefined {
  if (value.includes('/') || value.includes('\\')) return 'a slash or backslash (encoded as %2F or %5C)';
  if (value.includes('\0')) return 'a NUL byte';
  if (isDotSegment(value)) return `the dot segment '${value.split(';', 1)[0]}'`;
  return undefined;
}
