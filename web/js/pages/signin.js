// Sign-in with the admin token. The token goes to POST /api/v1/session once;
// the API answers with an HttpOnly session cookie and the page forgets it.

import * as api from '../api.js';
import { h } from '../ui.js';

export function render(view, _params, { onSignedIn }) {
  const token = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'current-password',
    required: true, autofocus: true, placeholder: 'API_ADMIN_TOKEN' });
  const error = h('p', { class: 'form-error', id: 'signin-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      button.disabled = true;
      try {
        await api.signIn(token.value.trim());
        token.value = '';
        onSignedIn();
      } catch (err) {
        error.textContent = err.status === 401 || err.status === 403
          ? 'Wrong token: the API refused it.'
          : `Sign-in failed: ${err.message}`;
        token.select();
      } finally {
        button.disabled = false;
      }
    },
  }, h('label', {}, 'Admin token', token), error, button);
  view.append(h('section', { class: 'panel signin' },
    h('h1', {}, 'Sign in to Vigil'),
    h('p', { class: 'muted small' }, 'Use the API_ADMIN_TOKEN of this server (the API prints it once when it creates one).'),
    form));
  token.focus();
}
