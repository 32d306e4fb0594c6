// Sign in and sign up. The session is an HttpOnly cookie set by the server.
import { post } from '../api.js';
import { h } from '../format.js';

function form(main, ctx, { title, fields, submit, action, alt }) {
  const err = h('p', { class: 'error', role: 'alert' });
  const button = h('button', { type: 'submit' }, submit);
  const f = h('form', { class: 'stack', novalidate: true },
    ...fields.map(([name, label, type, extra]) => h('label', {}, label, h('input', { name, type, required: true, ...extra }))),
    button, err);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    button.disabled = true;
    try {
      await action(Object.fromEntries(new FormData(f)));
      await ctx.refreshAccount();
      const next = new URLSearchParams(location.search).get('next');
      ctx.navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
    } catch (e2) {
      const fields = e2.details?.fields;
      err.textContent = fields ? Object.entries(fields).map(([k, v]) => `${k.replace('_', ' ')} ${v}`).join('; ') : e2.message;
    } finally {
      button.disabled = false;
    }
  });
  main.append(h('h1', {}, title), h('div', { class: 'card' }, f, alt));
}

export function signIn(main, _params, ctx) {
  form(main, ctx, {
    title: 'Sign in', submit: 'Sign in',
    fields: [['email', 'Email', 'email', { autocomplete: 'email' }], ['password', 'Password', 'password', { autocomplete: 'current-password' }]],
    action: (v) => post('/api/sessions', { email: v.email, password: v.password }),
    alt: h('p', { class: 'muted' }, 'New here? ', h('a', { href: '/signup' + location.search, 'data-link': true }, 'Create an account')),
  });
}

export function signUp(main, _params, ctx) {
  form(main, ctx, {
    title: 'Create an account', submit: 'Sign up',
    fields: [['name', 'Name', 'text', { autocomplete: 'name', maxlength: 100 }], ['email', 'Email', 'email', { autocomplete: 'email' }],
      ['password', 'Password (at least 8 characters)', 'password', { autocomplete: 'new-password', minlength: 8 }]],
    action: (v) => post('/api/accounts', { name: v.name, email: v.email, password: v.password }),
    alt: h('p', { class: 'muted' }, 'Have an account? ', h('a', { href: '/signin' + location.search, 'data-link': true }, 'Sign in')),
  });
}
