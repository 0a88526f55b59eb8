/**
 * docs/errors.md: the prose of errors.md.tmpl, two example error bodies as the ingress builds them,
 * then the error table: a row per code, and a section per code with its description; the admin
 * API's codes after the relay listener's, in a part of their own (their body differs); last the
 * codes of configuration problems, which `validate` and `start` print.
 */
import { code, escapeCell, slug, tableRow } from './markdown.ts';
import {
  AdminError,
  adminErrorBody,
  CONFIG_CODES,
  type ConfigCode,
  ConfigError,
  ERRORS,
  type ErrorCode,
  type ErrorParams,
  errorBody,
  HookrelayError,
  isAdminCode,
  parseConfig,
  SOURCE,
} from './sources.ts';
import { renderPage } from './template.ts';

/** A fixed request id: the output must not change from run to run. */
const REQUEST_ID = 'b3c1e0a2-5f1d-4a52-9a4e-2f0c8d1e7a10';

function exampleBody(errorCode: ErrorCode, params: ErrorParams, route: string | null): string {
  return JSON.stringify(errorBody(new HookrelayError(errorCode, params), route, REQUEST_ID), null, 2);
}

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

function rows(codes: ErrorCode[]): string {
  return codes
    .map((c) => {
      const e = ERRORS[c];
      return tableRow([
        `[${code(c)}](#${slug(c)})`,
        String(e.status),
        yesNo(e.retryable),
        escapeCell(e.message),
      ]);
    })
    .join('\n');
}

function sections(codes: ErrorCode[]): string {
  return codes
    .map((c) => {
      const e = ERRORS[c];
      return [
        `### ${c}`,
        '',
        e.description,
        '',
        `- Status: ${e.status}`,
        `- Retryable: ${yesNo(e.retryable)}`,
        `- Message: \`${e.message}\``,
        '',
      ].join('\n');
    })
    .join('\n');
}

/** What `validate` prints for a small invalid file, from the real loader. */
function configErrorExample(): string {
  const source = 'defaults:\n  retry:\n    atempts: 3\nroutes:\n  - { id: a, path: /a, echo: true }\n';
  try {
    parseConfig(source, 'hookrelay.yaml', { env: {} });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const n = error.issues.length;
    return `hookrelay: invalid configuration (${n} error${n === 1 ? '' : 's'})\n${error.message}`;
  }
  throw new Error('the example config of errors.md is valid: it must show an error');
}

function configRows(): string {
  return (Object.keys(CONFIG_CODES) as ConfigCode[])
    .map((c) => {
      const spec = CONFIG_CODES[c];
      return tableRow([`\`${c}\``, spec.severity, escapeCell(spec.description)]);
    })
    .join('\n');
}

export function renderErrors(): string {
  const all = Object.keys(ERRORS) as ErrorCode[];
  const relay = all.filter((c) => !isAdminCode(c));
  const admin = all.filter(isAdminCode);
  return renderPage('errors.md.tmpl', SOURCE.errors, {
    'upstream-failed-body': exampleBody(
      'HOOKRELAY_ERR_UPSTREAM_FAILED',
      { attempts: 3, reason: 'target answered 503' },
      'erp-orders',
    ),
    'route-not-found-body': exampleBody(
      'HOOKRELAY_ERR_ROUTE_NOT_FOUND',
      { method: 'POST', path: '/in/acme/order' },
      null,
    ),
    'code-rows': rows(relay),
    'code-sections': sections(relay),
    'admin-body': JSON.stringify(adminErrorBody(new AdminError('HOOKRELAY_ERR_ADMIN_UNAUTHORIZED')), null, 2),
    'config-code-rows': configRows(),
    'config-error-example': configErrorExample(),
    'admin-code-rows': rows(admin),
    'admin-code-sections': sections(admin),
  });
}
