// Sign in: the key is sent once, to POST /v4/Session, which answers with an
// HttpOnly cookie. The field is emptied at once; the page keeps nothing.

import { call } from '../lib/api.js';
import { field, h, notice } from '../lib/dom.js';

export function render(main, { message, signedIn }) {
  const key = h('input', {
    type: 'password', id: 'api-key', name: 'api-key', autocomplete: 'off',
    spellcheck: 'false', required: true, autocapitalize: 'off',
  });
  const error = h('div', { role: 'alert', class: 'notice error', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title', novalidate: true },
    h('h1', { id: 'signin-title', text: 'Sign in to coffre' }),
    message ? notice('warn', message) : null,
    error,
    field('API key', key, 'Paste an API key (coffre_…). It is sent once to open a session and is not kept by this page.'),
    submit,
    h('p', { class: 'hint', text: 'The session ends after a period without use, when you sign out, and when the key is revoked, regenerated, expired or deleted.' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = key.value.trim();
    key.value = '';
    if (!value) {
      error.textContent = 'Paste an API key first.';
      error.hidden = false;
      key.focus();
      return;
    }
    submit.disabled = true;
    error.hidden = true;
    try {
      const info = await call('POST', '/v4/Session', { ApiKey: value }, { signIn: true });
      signedIn(info);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
      key.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.append(form);
  key.focus();
  // What the load-time measurement waits for (README, Measurements).
  performance.mark('coffre:sign-in-ready');
}
