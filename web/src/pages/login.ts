import { ApiError, post, type Me } from '../api.js';
import { h } from '../dom.js';

export function renderLogin(onSignedIn: (me: Me) => void): HTMLElement {
  const identity = h('input', { name: 'identity', autocomplete: 'username', required: true, autofocus: true });
  const token = h('input', { name: 'token', type: 'password', autocomplete: 'current-password', required: true, placeholder: 'cus_…' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          onSignedIn(await post<Me>('/api/login', { identity: identity.value.trim(), token: token.value.trim() }));
        } catch (err) {
          error.textContent = err instanceof ApiError ? err.message : String(err);
        }
      },
    },
    h('h1', {}, 'Custos viewer'),
    h('p', { class: 'hint' }, 'Sign in with your identity name and a token from ', h('code', {}, 'custos token create --identity <name>'), '.'),
    h('label', {}, 'Identity', identity),
    h('label', {}, 'Token', token),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  return h('div', { class: 'login-page' }, form);
}
