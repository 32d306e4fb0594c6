// Keeping an account: forgot / reset password, the links mailed for
// verification and a change of address, and the account page (verify,
// change email, two-factor sign-in, sign out everywhere, export, delete).
// Mailed links carry their token in the fragment (#token=...), which no
// server ever sees.
import { api, post } from '../api.js';
import { h } from '../format.js';
import { remindersSection } from './notices.js';
import { registrationsSection } from '../lottery.js';

// Roles that must sign in with a second factor (account.totpRoles).
export const totpRoles = ['admin', 'finance', 'box_office'];
export const mustEnrol = (a) => Boolean(a && totpRoles.includes(a.role) && !a.totp_enabled);

const tokenOfLink = () => new URLSearchParams(location.hash.slice(1)).get('token') || '';

// submitForm is a form of required inputs whose submit runs
// action(values), then done(result, form); an error of either is shown
// under the button (a 422's fields by name).
export function submitForm({ fields, submit, action, done }) {
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
      await done(await action(Object.fromEntries(new FormData(f))), f);
    } catch (e2) {
      const bad = e2.details?.fields;
      err.textContent = bad ? Object.entries(bad).map(([k, v]) => `${k.replace('_', ' ')} ${v}`).join('; ') : e2.message;
    } finally {
      button.disabled = false;
    }
  });
  return f;
}

// formCard appends a titled card with a submitForm.
function formCard(parent, { title, intro, ...form }) {
  const f = submitForm(form);
  parent.append(h('section', { class: 'card stack' }, title ? h('h2', {}, title) : '', intro ? h('p', { class: 'muted' }, intro) : '', f));
  return f;
}

const say = (f, text) => f.replaceWith(h('p', { role: 'status' }, text));

export function forgotPassword(main) {
  main.append(h('h1', {}, 'Forgot your password?'));
  formCard(main, {
    intro: 'We mail a link to choose a new one. It works once, for an hour.',
    fields: [['email', 'Email', 'email', { autocomplete: 'email' }]], submit: 'Send the link',
    action: (v) => post('/api/account/password-reset', { email: v.email }),
    done: (_r, f) => say(f, 'If an account has this address, a link to reset its password is on its way. Check your mail.'),
  });
}

export function resetPassword(main, _params, ctx) {
  main.append(h('h1', {}, 'Choose a new password'));
  const token = tokenOfLink();
  if (!token) {
    main.append(h('p', { class: 'error' }, 'This page needs the link from the reset mail. ', h('a', { href: '/forgot-password', 'data-link': true }, 'Ask for one')));
    return;
  }
  formCard(main, {
    intro: 'Choosing a new password signs you out everywhere.',
    fields: [['password', 'New password (at least 8 characters)', 'password', { autocomplete: 'new-password', minlength: 8 }]],
    submit: 'Set the password',
    action: (v) => post('/api/account/password-reset/confirm', { token, password: v.password }),
    done: async (_r, f) => {
      history.replaceState({}, '', '/reset-password'); // the token is spent: out of the address bar
      await ctx.refreshAccount();
      f.replaceWith(h('p', { role: 'status' }, 'Your password is changed. ', h('a', { href: '/signin', 'data-link': true }, 'Sign in')));
    },
  });
}

// tokenPage posts a mailed link's token as soon as the page opens.
async function tokenPage(main, ctx, { title, path, ok }) {
  main.append(h('h1', {}, title));
  const status = h('p', { role: 'status' }, 'Checking the link…');
  main.append(status);
  const token = tokenOfLink();
  history.replaceState({}, '', location.pathname);
  try {
    const acct = await post(path, { token });
    await ctx.refreshAccount();
    status.textContent = ok(acct);
  } catch (e) {
    status.className = 'error';
    status.textContent = e.message;
  }
}

export function verifyEmail(main, _params, ctx) {
  return tokenPage(main, ctx, { title: 'Verify your email', path: '/api/account/email/verify', ok: (a) => `${a.email} is verified. You can buy tickets.` });
}

export function confirmEmail(main, _params, ctx) {
  return tokenPage(main, ctx, { title: 'Confirm your new email', path: '/api/account/email/confirm', ok: (a) => `Your account now uses ${a.email}.` });
}

// renderAccount is /account. A staff account without two-factor sign-in
// sees only the enrolment: the server refuses it everything else.
export async function renderAccount(main, _params, ctx) {
  const a = ctx.account || await ctx.refreshAccount();
  if (!a) { ctx.navigate('/signin?next=/account', true); return; }
  main.append(h('h1', {}, 'Your account'), h('p', {}, `${a.name} · ${a.email}`));
  if (mustEnrol(a)) {
    main.append(h('p', { class: 'error', role: 'alert' }, 'Your role requires two-factor sign-in. Set it up to continue.'));
    totpSection(main, a, ctx);
    return;
  }
  const verify = h('section', { class: 'card stack' }, h('h2', {}, 'Email'));
  if (a.email_verified) {
    verify.append(h('p', {}, '✓ Your address is verified.'));
  } else {
    const msg = h('p', { role: 'status' });
    verify.append(h('p', {}, 'Your address is not verified yet: some sales need it before you can hold seats.'),
      h('button', { type: 'button', onclick: async () => {
        try { msg.textContent = (await post('/api/account/email/verify/resend')).status; } catch (e) { msg.textContent = e.message; }
      } }, 'Send the verification link again'), msg);
  }
  main.append(verify);
  await registrationsSection(main);
  formCard(main, {
    title: 'Change email', intro: 'We mail a link to the new address; your old one gets a notice.',
    fields: [['email', 'New email', 'email', { autocomplete: 'email' }], ['password', 'Current password', 'password', { autocomplete: 'current-password' }]],
    submit: 'Change email',
    action: (v) => post('/api/account/email', { email: v.email, password: v.password }),
    done: (r, f) => say(f, r.status),
  });
  totpSection(main, a, ctx);
  remindersSection(main);
  main.append(h('section', { class: 'card stack' }, h('h2', {}, 'Sessions'),
    h('p', { class: 'muted' }, 'Signed in on a device you no longer have? End every session, this one too.'),
    h('button', { type: 'button', onclick: async () => {
      await api('DELETE', '/api/account/sessions');
      await ctx.refreshAccount();
      ctx.navigate('/signin');
    } }, 'Sign out everywhere')));
  main.append(h('section', { class: 'card stack' }, h('h2', {}, 'Your data'),
    h('p', { class: 'muted' }, 'Everything we keep about you, as a JSON file.'),
    h('a', { href: '/api/account/export', download: 'boxoffice-account.json', class: 'button' }, 'Download my data')));
  formCard(main, {
    title: 'Delete account',
    intro: 'Your name and address are erased; orders and tickets stay, without them, for the accounts. Seats on hold or a payment in progress must be finished first.',
    fields: [['password', 'Password', 'password', { autocomplete: 'current-password' }]], submit: 'Delete my account',
    action: (v) => api('DELETE', '/api/account', { password: v.password }),
    done: async () => { await ctx.refreshAccount(); ctx.navigate('/'); },
  });
}

// totpSection is the two-factor card: enrol (QR code and otpauth URI, then
// a code), show the recovery codes once, or turn it off (fans).
function totpSection(main, a, ctx) {
  const card = h('section', { class: 'card stack', id: 'totp' }, h('h2', {}, 'Two-factor sign-in'));
  main.append(card);
  if (a.totp_enabled) {
    card.append(h('p', {}, '✓ On: signing in asks for a code from your authenticator app.'));
    formCard(card, {
      fields: [['code', 'Code from the app', 'text', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6 }]],
      submit: 'Get new recovery codes',
      action: (v) => post('/api/account/totp/recovery-codes', { code: v.code.trim() }),
      done: (r, f) => {
        f.replaceWith(h('p', { role: 'status' }, 'New recovery codes: the old ones no longer work. Keep these somewhere safe: each signs you in once without the app.'),
          h('ul', { class: 'codes', 'data-renewed-codes': true }, ...r.recovery_codes.map((c) => h('li', {}, h('code', {}, c)))));
      },
    });
    if (!totpRoles.includes(a.role)) {
      formCard(card, {
        fields: [['password', 'Password', 'password', { autocomplete: 'current-password' }]], submit: 'Turn two-factor sign-in off',
        action: (v) => api('DELETE', '/api/account/totp', { password: v.password }),
        done: async (_r, f) => { await ctx.refreshAccount(); say(f, 'Two-factor sign-in is off.'); },
      });
    }
    return;
  }
  const start = h('button', { type: 'button' }, 'Set up two-factor sign-in');
  card.append(h('p', { class: 'muted' }, 'Sign in with a code from an authenticator app as well as your password.'), start);
  start.addEventListener('click', async () => {
    const enr = await post('/api/account/totp');
    start.replaceWith(h('p', {}, 'Scan this with your authenticator app, or type the key in.'),
      h('img', { class: 'qr', src: enr.qr_png, alt: 'QR code of the two-factor key' }),
      h('p', {}, 'Key: ', h('code', { 'data-totp-secret': true }, enr.secret)),
      h('p', { class: 'muted' }, h('code', { 'data-otpauth': true }, enr.otpauth_uri)));
    formCard(card, {
      fields: [['code', 'Code from the app', 'text', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6 }]],
      submit: 'Turn on',
      action: (v) => post('/api/account/totp/confirm', { code: v.code.trim() }),
      done: async (r, f) => {
        await ctx.refreshAccount();
        f.replaceWith(h('p', { role: 'status' }, 'Two-factor sign-in is on. Keep these recovery codes somewhere safe: each signs you in once without the app.'),
          h('ul', { class: 'codes' }, ...r.recovery_codes.map((c) => h('li', {}, h('code', {}, c)))));
      },
    });
  });
}
