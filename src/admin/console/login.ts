/**
 * The login of the console when `admin.token` is set: a browser cannot add a bearer header to a
 * plain navigation, so `GET /console/login` shows a form, `POST /console/login` compares the
 * token given with the configured one in constant time and answers with a session cookie
 * (csrf.ts) that the console accepts instead of the header. The API keeps requiring the header.
 * Without a token (loopback only) there is no login.
 */
import type { Answer, ConsoleRequest } from './context.ts';
import { html } from './html.ts';
import { csrfField, page } from './layout.ts';

export function loginForm(request: ConsoleRequest, failed = false): Answer {
  const body = html`<div class="login">
<h2>Admin console</h2>
${failed ? html`<p class="notice bad" id="login-failed" role="alert">That is not the admin token.</p>` : ''}
<form method="post" action="/console/login">
${csrfField(request.csrf)}
<label>Admin token (<code>admin.token</code>) <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit" class="primary">Log in</button>
</form>
<p class="muted">The session lasts 8 hours, or until the relay restarts.</p>
</div>`;
  return { status: failed ? 401 : 200, body: page(request, 'login', 'Log in', body) };
}
