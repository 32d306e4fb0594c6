// main.js: the browser app's router. Each page module exports
// render(main, params, ctx) and may return a cleanup function, called when
// the fan navigates away (sockets closed, timers stopped).
import { me, api } from './api.js';

const routes = [
  [/^\/$/, () => import('./pages/events.js')],
  [/^\/events\/(\d+)$/, () => import('./pages/event.js')],
  [/^\/events\/(\d+)\/queue$/, () => import('./pages/queue.js')],
  [/^\/checkout\/([0-9a-f-]{36})$/, () => import('./pages/checkout.js')],
  [/^\/payments\/([0-9a-f-]{36})\/challenge$/, () => import('./pages/challenge.js')],
  [/^\/orders$/, () => import('./pages/orders.js')],
  [/^\/orders\/([^/]+)$/, () => import('./pages/order.js')],
  [/^\/tickets$/, () => import('./pages/tickets.js')],
  [/^\/scan$/, () => import('./pages/scan.js')],
  [/^\/signin$/, () => import('./pages/auth.js').then((m) => ({ render: m.signIn }))],
  [/^\/signup$/, () => import('./pages/auth.js').then((m) => ({ render: m.signUp }))],
  [/^\/forgot-password$/, () => import('./pages/account.js').then((m) => ({ render: m.forgotPassword }))],
  [/^\/reset-password$/, () => import('./pages/account.js').then((m) => ({ render: m.resetPassword }))],
  [/^\/verify-email$/, () => import('./pages/account.js').then((m) => ({ render: m.verifyEmail }))],
  [/^\/confirm-email$/, () => import('./pages/account.js').then((m) => ({ render: m.confirmEmail }))],
  [/^\/events\/(\d+)\/refund-choice$/, () => import('./pages/notices.js').then((m) => ({ render: m.refundChoice }))],
  [/^\/unsubscribe$/, () => import('./pages/notices.js').then((m) => ({ render: m.unsubscribe }))],
  [/^\/account$/, () => import('./pages/account.js').then((m) => ({ render: m.renderAccount }))],
  [/^\/admin$/, () => import('./pages/admin.js').then((m) => ({ render: m.renderList }))],
  [/^\/admin\/events\/(\d+)$/, () => import('./pages/admin.js').then((m) => ({ render: m.renderEvent }))],
  [/^\/admin\/events\/new$/, () => import('./pages/wizard.js').then((m) => ({ render: m.renderNew }))],
  [/^\/admin\/events\/(\d+)\/edit$/, () => import('./pages/wizard.js').then((m) => ({ render: m.renderEdit }))],
  [/^\/admin\/orders$/, () => import('./pages/adminorders.js').then((m) => ({ render: m.renderOrders }))],
  [/^\/admin\/orders\/([0-9a-f-]{36})$/, () => import('./pages/adminorders.js').then((m) => ({ render: m.renderOrder }))],
  [/^\/admin\/roles$/, () => import('./pages/adminorders.js').then((m) => ({ render: m.renderRoles }))],
  [/^\/admin\/venues$/, () => import('./pages/venues.js').then((m) => ({ render: m.renderVenues }))],
  [/^\/admin\/venues\/new$/, () => import('./pages/venues.js').then((m) => ({ render: m.renderVenue }))],
  [/^\/admin\/venues\/(\d+)$/, () => import('./pages/venues.js').then((m) => ({ render: m.renderVenue }))],
  [/^\/box-office$/, () => import('./pages/boxoffice.js').then((m) => ({ render: m.renderBoxOffice }))],
];

const ctx = {
  account: null,
  navigate(path, replace = false) {
    history[replace ? 'replaceState' : 'pushState']({}, '', path);
    route();
  },
  async refreshAccount() {
    ctx.account = await me().catch(() => null);
    for (const el of document.querySelectorAll('[data-auth]')) {
      el.hidden = (el.dataset.auth === 'in') !== Boolean(ctx.account);
    }
    for (const el of document.querySelectorAll('[data-role]')) el.hidden = !el.dataset.role.split(' ').includes(ctx.account?.role);
    return ctx.account;
  },
};

let cleanup = null;

async function route() {
  const main = document.getElementById('app');
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } cleanup = null; }
  const path = location.pathname;
  for (const [re, load] of routes) {
    const m = path.match(re);
    if (!m) continue;
    main.replaceChildren();
    try {
      const page = await load();
      cleanup = (await page.render(main, m.slice(1), ctx)) || null;
    } catch (err) {
      main.replaceChildren(Object.assign(document.createElement('p'), { className: 'error', textContent: `Something went wrong: ${err.message}` }));
    }
    main.focus({ preventScroll: true });
    return;
  }
  main.innerHTML = '<h1>Not found</h1><p class="muted">There is no page here. <a href="/" data-link>See the events</a>.</p>';
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-link]');
  if (!a || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
  e.preventDefault();
  ctx.navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', route);
document.getElementById('signout').addEventListener('click', async () => {
  await api('DELETE', '/api/sessions').catch(() => {});
  await ctx.refreshAccount();
  ctx.navigate('/');
});

await ctx.refreshAccount();
route();
