// Sign in and sign up. The session is an HttpOnly cookie set by the server.
import { post } from '../api.js';
import { h } from '../format.js';
import { mustEnrol, submitForm } from './account.js';

// secondStep is what a sign-in action returns when the account needs a
// TOTP code: the form has been replaced, nothing to navigate yet.
const secondStep = Symbol('second step');

function form(main, ctx, { title, fields, submit, action, alt }) {
  const f = submitForm({
    fields, submit, action,
    done: async (result) => {
      if (result === secondStep) return;
      await ctx.refreshAccount();
      const next = new URLSearchParams(location.search).get('next');
      // A staff account without two-factor sign-in may only enrol.
      if (mustEnrol(ctx.account)) ctx.navigate('/account');
      else ctx.navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
    },
  });
  main.append(h('h1', {}, title), h('div', { class: 'card' }, f, alt));
}

export function signIn(main, _params, ctx) {
  form(main, ctx, {
    title: 'Sign in', submit: 'Sign in',
    fields: [['email', 'Email', 'email', { autocomplete: 'email' }], ['password', 'Password', 'password', { autocomplete: 'current-password' }]],
    action: async (v) => {
      const r = await post('/api/sessions', { email: v.email, password: v.password });
      if (!r.second_factor) return r;
      // The password was right; the account signs in with a code too.
      main.replaceChildren();
      form(main, ctx, {
        title: 'Two-factor sign-in', submit: 'Verify',
        fields: [['code', 'Code from your authenticator app, or a recovery code', 'text', { autocomplete: 'one-time-code', maxlength: 32 }]],
        action: (c) => post('/api/sessions/second-step', { challenge: r.challenge, code: c.code.trim() }),
        alt: h('p', { class: 'muted' }, 'Lost your app? Use one of your recovery codes.'),
      });
      return secondStep;
    },
    alt: h('p', { class: 'muted' }, 'New here? ', h('a', { href: '/signup' + location.search, 'data-link': true }, 'Create an account'),
      ' · ', h('a', { href: '/forgot-password', 'data-link': true }, 'Forgot your password?')),
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
