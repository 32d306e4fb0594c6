// admin.js: the admin dashboard. /admin lists events, the background
// jobs (dead ones with Retry, failing refunds) and the stuck payments (with
// Retry); /admin/events/{id} links the
// event's ledger (CSV, JSON) and
// shows the live figures (GET .../stats once, then the 1 Hz stats frames on
// event:{id}:stats over /ws): alerts, the sales funnel, a uPlot chart of
// holds, sales and revenue over time, the venue map coloured live, the
// check-ins per entrance, the sale's controls, order search, the review
// queue of flagged orders, the sortable section table (dashboard.js) and
// the seller payouts of its resales.
// Everything goes through the same admin API as scripts.
import { api, get } from '../api.js';
import { h, money, dateTime, statusLabel, orderStatusLabel, toast } from '../format.js';
import { noticesCard } from './notices.js';

// reasonText says in words why the review signals flagged an order.
const reasonText = {
  join_to_hold_too_fast: 'held seats too soon after joining the queue',
  hold_to_pay_too_fast: 'paid too soon after holding',
  too_many_holds_per_minute: 'too many holds in a minute',
  too_many_accounts_per_fingerprint: 'one device behind many accounts',
};

// reviewRefresh is how often the review queue reloads on its own.
const reviewRefreshMs = 5000;
import { TimeChart } from '../timechart.js';
import { alerts, checkIns, funnel, sectionTable, venueMap } from '../dashboard.js';

function needAdmin(main, ctx) {
  if (ctx.account?.role === 'admin') return false;
  main.append(h('h1', {}, 'Admin'),
    h('p', { class: 'error' }, ctx.account ? 'This page is for admins.' : 'Sign in as an admin to see this page.'),
    ctx.account ? '' : h('p', {}, h('a', { href: '/signin', 'data-link': true }, 'Sign in')));
  return true;
}

// renderList: /admin.
export async function renderList(main, _params, ctx) {
  if (needAdmin(main, ctx)) return;
  // The links and panels first, the list of every event in its place
  // when it comes: it can take a while to load.
  const list = h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading the events…');
  main.append(h('h1', {}, 'Admin: events'),
    h('p', {}, h('a', { href: '/admin/events/new', 'data-link': true, class: 'button' }, 'New event'), ' ',
      h('a', { href: '/admin/orders', 'data-link': true }, 'Orders'), ' · ', h('a', { href: '/admin/roles', 'data-link': true }, 'Roles'),
      ' · ', h('a', { href: '/admin/venues', 'data-link': true }, 'Venues'), ' · ', h('a', { href: '/box-office', 'data-link': true }, 'Box office')),
    list, jobsPanel(), paymentsPanel());
  // Past events too (from= the epoch): an admin settles their ledgers.
  const events = await get('/api/events?from=1970-01-01&limit=100');
  list.replaceWith(h('table', { class: 'admin-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Event'), h('th', {}, 'Date'), h('th', {}, 'Status'), h('th', {}, 'Available'))),
    h('tbody', {}, events.map((e) => h('tr', {},
      h('td', {}, h('a', { href: `/admin/events/${e.id}`, 'data-link': true }, e.name)),
      h('td', {}, dateTime(e.event_date, e.time_zone)),
      h('td', {}, statusLabel[e.status] || e.status),
      h('td', {}, String(e.available)))))));
}

// jobsPanel is the outbox as an admin needs it: tiles counting the dead
// jobs (out of attempts: emails, captures, releases that gave up) and the
// failing refunds (retried until they succeed), and the dead jobs with
// their last error and a Retry button (POST /api/admin/jobs/{job}/retry).
function jobsPanel() {
  const dead = h('strong', { 'data-tile': 'dead_jobs' }, '–');
  const refunds = h('strong', { 'data-tile': 'failing_refunds' }, '–');
  const body = h('tbody');
  const sum = (m) => Object.values(m || {}).reduce((a, b) => a + b, 0);
  const load = async () => {
    try {
      const list = await get('/api/admin/jobs?status=dead');
      dead.textContent = String(sum(list.counts.dead));
      refunds.textContent = String(list.counts.failing['checkout.refund'] || 0);
      body.replaceChildren(...(list.jobs.length ? list.jobs.map((j) => {
        const retry = h('button', { type: 'button' }, 'Retry');
        retry.addEventListener('click', async () => {
          retry.disabled = true;
          try { await api('POST', `/api/admin/jobs/${j.id}/retry`); toast(`Job ${j.id} queued again`); } catch (e) { toast(`Retry: ${e.message}`); }
          await load();
        });
        return h('tr', { 'data-job': String(j.id) }, h('td', {}, String(j.id)), h('td', {}, j.kind), h('td', {}, String(j.attempts)),
          h('td', {}, j.last_error || ''), h('td', {}, dateTime(j.run_at)), h('td', {}, retry));
      }) : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No dead jobs.'))]));
    } catch (e) { dead.textContent = '?'; toast(`Jobs: ${e.message}`); }
  };
  load();
  return h('section', { class: 'card', 'aria-labelledby': 'jobs-title' }, h('h2', { id: 'jobs-title' }, 'Background jobs'),
    h('div', { class: 'tiles' },
      h('div', { class: 'tile card' }, h('span', { class: 'muted' }, 'Dead jobs'), dead),
      h('div', { class: 'tile card' }, h('span', { class: 'muted' }, 'Failing refunds'), refunds)),
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['Job', 'Kind', 'Attempts', 'Last error', 'Last run', ''].map((t) => h('th', {}, t)))),
      body));
}

// paymentsPanel is the reconciler's trouble as an admin needs it: tiles
// counting the stuck payments (set aside after failing again and again)
// and the failing ones, and the stuck payments with their last error and a
// Retry button (POST /api/admin/payments/{payment}/retry: back in the
// reconciler's queue, backoff reset). Fix the cause at the provider first.
function paymentsPanel() {
  const stuck = h('strong', { 'data-tile': 'stuck_payments' }, '–');
  const failing = h('strong', { 'data-tile': 'failing_payments' }, '–');
  const body = h('tbody');
  const load = async () => {
    try {
      const list = await get('/api/admin/payments?status=stuck');
      stuck.textContent = String(list.counts.stuck);
      failing.textContent = String(list.counts.failing);
      body.replaceChildren(...(list.payments.length ? list.payments.map((p) => {
        const retry = h('button', { type: 'button' }, 'Retry');
        retry.addEventListener('click', async () => {
          retry.disabled = true;
          try { await api('POST', `/api/admin/payments/${p.id}/retry`); toast(`Payment ${p.id} queued again`); } catch (e) { toast(`Retry: ${e.message}`); }
          await load();
        });
        return h('tr', { 'data-payment': p.id }, h('td', {}, p.id), h('td', {}, String(p.event)), h('td', {}, p.status),
          h('td', {}, money(p.amount_cents, p.currency)), h('td', {}, String(p.reconcile_failures)),
          h('td', {}, p.last_error || ''), h('td', {}, retry));
      }) : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No stuck payments.'))]));
    } catch (e) { stuck.textContent = '?'; toast(`Payments: ${e.message}`); }
  };
  load();
  return h('section', { class: 'card', 'aria-labelledby': 'payments-title' }, h('h2', { id: 'payments-title' }, 'Stuck payments'),
    h('div', { class: 'tiles' },
      h('div', { class: 'tile card' }, h('span', { class: 'muted' }, 'Stuck payments'), stuck),
      h('div', { class: 'tile card' }, h('span', { class: 'muted' }, 'Failing payments'), failing)),
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['Payment', 'Event', 'Status', 'Amount', 'Failures', 'Last error', ''].map((t) => h('th', {}, t)))),
      body));
}

const tiles = [
  ['status', 'Status', (s) => statusLabel[s.status] || s.status],
  ['available', 'Available', (s) => s.totals.available],
  ['held', 'Held', (s) => s.totals.held],
  ['sold', 'Sold', (s) => s.totals.sold],
  ['reserved', 'Held back', (s) => s.totals.reserved],
  ['revenue', 'Revenue', (s) => money(s.revenue_cents, s.currency || 'usd')],
  ['holds_per_second', 'Holds/s', (s) => s.holds_per_second.toFixed(1)],
  ['sales_per_second', 'Sales/s', (s) => s.sales_per_second.toFixed(1)],
  ['queue_length', 'Queue', (s) => s.queue_length],
  ['cursor', 'Cursor', (s) => s.cursor],
  ['admit_rate', 'Admit rate/s', (s) => s.admit_rate.toFixed(1)],
  ['active_shoppers', 'Active shoppers', (s) => s.active_shoppers],
  ['sockets', 'Sockets (node)', (s) => s.sockets],
  ['p99', 'p99 hold (node)', (s) => `${s.p99_hold_ms.toFixed(1)} ms`],
  ['errors', 'Errors (node)', (s) => s.errors],
];

// renderEvent: /admin/events/{id}.
export async function renderEvent(main, [id], ctx) {
  if (needAdmin(main, ctx)) return;
  let event = await get(`/api/events/${id}`);
  const title = h('h1', {}, `Admin: ${event.name}`);
  const updated = h('p', { class: 'muted', 'data-testid': 'updated' }, 'Loading…');
  const tileEls = {};
  const tileGrid = h('div', { class: 'tiles' }, tiles.map(([key, label]) => {
    tileEls[key] = h('strong', { 'data-tile': key }, '–');
    return h('div', { class: 'tile card' }, h('span', { class: 'muted' }, label), tileEls[key]);
  }));
  const chartEl = h('div', { class: 'timechart', role: 'img', 'aria-label': 'Holds and sales per second, and revenue, over time' });
  const sections = sectionTable();
  const funnelView = funnel();
  const alertView = alerts();
  const doors = checkIns(id);
  const map = venueMap(id);
  let chart = null;

  let last = null;
  const show = (s, live = false) => {
    last = s;
    for (const [key, , fmt] of tiles) tileEls[key].textContent = String(fmt(s));
    updated.textContent = `Updated ${new Date(s.at).toLocaleTimeString()} · seq ${s.seq}`;
    // One point per 1 Hz frame; revenue in currency units on its own axis.
    if (live) chart?.push(new Date(s.at), [s.holds_per_second, s.sales_per_second, s.revenue_cents / 100]);
    sections.show(s);
    funnelView.show(s);
    alertView.show(s);
  };
  const refresh = async () => show(await get(`/api/admin/events/${id}/stats`));

  // Controls.
  const act = async (label, fn) => {
    try { await fn(); toast(`${label}: done`); await refresh(); } catch (e) { toast(`${label}: ${e.message}`); }
  };
  const patch = (status) => act(status, async () => { event = await api('PATCH', `/api/admin/events/${id}`, { status }); });
  const room = event.waiting_room || {};
  const rate = h('input', { type: 'number', min: 1, id: 'admit-rate', value: room.admit_per_minute || 600 });
  const limit = h('input', { type: 'number', min: 1, id: 'active-limit', value: room.active_limit || 2000 });
  const roomOn = h('input', { type: 'checkbox', id: 'room-on', checked: Boolean(room.enabled) });
  const printOn = h('input', { type: 'checkbox', id: 'print-at-home', checked: Boolean(event.print_at_home) });
  const secSelect = h('select', { id: 'release-section' }, h('option', { value: '' }, 'Any section'),
    (event.sections || []).map((s) => h('option', { value: s.id }, s.name)));
  const count = h('input', { type: 'number', min: 1, value: 10, id: 'release-count' });
  const at = h('input', { type: 'datetime-local', id: 'release-at' });
  const confirmName = h('input', { id: 'cancel-confirm', autocomplete: 'off' });
  const cancelBtn = h('button', { type: 'submit', class: 'danger', disabled: true }, 'Cancel event and refund');
  confirmName.addEventListener('input', () => { cancelBtn.disabled = confirmName.value !== event.name; });

  const controls = h('section', { class: 'card controls' }, h('h2', {}, 'Controls'),
    h('div', { class: 'row' },
      h('button', { type: 'button', onclick: () => patch('open') }, 'Open sale'),
      h('button', { type: 'button', onclick: () => patch('pause') }, 'Pause'),
      h('button', { type: 'button', onclick: () => patch('resume') }, 'Resume')),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); act('Waiting room', () => api('PUT', `/api/admin/events/${id}/queue`, {
      ...room, enabled: roomOn.checked, admit_per_minute: Number(rate.value), active_limit: Number(limit.value) })); } },
    h('label', {}, roomOn, ' Waiting room on'),
    h('label', { for: 'admit-rate' }, 'Admit per minute'), rate,
    h('label', { for: 'active-limit' }, 'Active limit'), limit,
    h('button', { type: 'submit' }, 'Save')),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); act('Entry rule', async () => {
      event = await api('PATCH', `/api/admin/events/${id}`, { print_at_home: printOn.checked }); }); } },
    h('label', {}, printOn, ' Printed tickets admit (print at home); off: only the rotating code in the app'),
    h('button', { type: 'submit' }, 'Save')),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); act('Release', () => {
      const body = { count: Number(count.value) };
      if (secSelect.value) body.section = secSelect.value;
      if (at.value) body.at = new Date(at.value).toISOString();
      return api('POST', `/api/admin/events/${id}/inventory/release`, body);
    }); } },
    h('label', { for: 'release-section' }, 'Release held-back seats'), secSelect,
    h('label', { for: 'release-count' }, 'Count'), count,
    h('label', { for: 'release-at' }, 'At (empty: now)'), at,
    h('button', { type: 'submit' }, 'Release')),
    h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); if (confirmName.value === event.name) patch('cancel'); } },
      h('label', { for: 'cancel-confirm' }, `Type “${event.name}” to cancel the event (tickets void, every order refunded)`),
      confirmName, cancelBtn));

  // Order search: by the buyer's email or the start of the order id.
  const q = h('input', { id: 'order-q', type: 'search', placeholder: 'email or order id' });
  const orderBody = h('tbody');
  const search = async () => {
    try {
      const orders = await get(`/api/admin/events/${id}/orders?q=${encodeURIComponent(q.value)}`);
      orderBody.replaceChildren(...(orders.length ? orders.map((o) => h('tr', {},
        h('td', {}, o.id.slice(0, 8)), h('td', {}, o.email), h('td', {}, orderStatusLabel[o.status] || o.status), h('td', {}, String(o.tickets)),
        h('td', {}, money(o.total_cents, o.currency)), h('td', {}, dateTime(o.created_at))))
        : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No orders match.'))]));
    } catch (e) { toast(`Search: ${e.message}`); }
  };
  const orders = h('section', { class: 'card' }, h('h2', {}, 'Orders'),
    h('form', { class: 'row', role: 'search', onsubmit: (e) => { e.preventDefault(); search(); } },
      h('label', { for: 'order-q' }, 'Search orders'), q, h('button', { type: 'submit' }, 'Search')),
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['Order', 'Email', 'Status', 'Tickets', 'Total', 'Placed'].map((t) => h('th', {}, t)))),
      orderBody));

  const review = reviewQueue(id);

  const ledger = h('p', {}, 'Ledger: ', h('a', { href: `/api/admin/events/${id}/ledger.csv`, download: '' }, 'CSV'), ' · ',
    h('a', { href: `/api/admin/events/${id}/ledger`, target: '_blank', rel: 'noopener' }, 'JSON'), ' · ',
    h('a', { href: `/admin/orders?event=${id}`, 'data-link': true }, 'Orders and exports'),
    // Name, times and prices change only until the sale starts (the wizard).
    event.status === 'upcoming' ? [' · ', h('a', { href: `/admin/events/${id}/edit`, 'data-link': true }, 'Edit')] : []);
  main.append(title, alertView.el, updated, ledger, funnelView.el, tileGrid,
    h('section', { class: 'card' }, h('h2', {}, 'Sales and revenue over time'), chartEl),
    map.el, doors.el, controls, noticesCard(id), review.el, sections.el, orders, payoutsPanel(id));
  const currency = event.currency || 'usd';
  chart = new TimeChart(chartEl, [
    { label: 'holds/s', color: '#0072B2' }, { label: 'sales/s', color: '#D55E00' },
    { label: 'revenue', color: '#009E73', scale: 'money', format: (v) => money(Math.round(v * 100), currency) },
  ], { moneyFormat: (v) => money(Math.round(v * 100), currency) });

  await refresh();
  const stopStats = followStats(id, (s) => show(s, true));
  const stopMap = await map.start().catch((e) => { toast(`Venue map: ${e.message}`); return () => {}; });
  window.__boxofficeAdmin = { chart, get last() { return last; } };
  return () => { stopStats(); stopMap(); review.stop(); alertView.stop(); doors.stop(); chart.destroy(); };
}

// payoutStatus names a seller payout's state as an organizer reads it.
const payoutStatus = {
  pending: 'Pending', transferring: 'Transferring', paid: 'Paid', failed: 'Failed, retrying', void: 'Void (event cancelled)',
};

// payoutsPanel is the event's seller payouts (resales), newest first: who
// sold, for what, when they are due or were paid, and a failing
// transfer's last error. The job pays them; this only shows how it goes.
function payoutsPanel(id) {
  const body = h('tbody', {}, h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'Loading…')));
  get(`/api/admin/events/${id}/payouts`).then((res) => {
    body.replaceChildren(...(res.payouts.length ? res.payouts.map((p) => h('tr', { 'data-payout': p.id },
      h('td', {}, p.seller_email), h('td', {}, h('a', { href: `/admin/orders/${p.order_id}`, 'data-link': true }, p.order_id.slice(0, 8))),
      h('td', {}, money(p.gross_cents, p.currency)), h('td', {}, money(p.net_cents, p.currency)),
      h('td', {}, payoutStatus[p.status] || p.status),
      h('td', {}, p.paid_at ? dateTime(p.paid_at) : p.due_at ? `due ${dateTime(p.due_at)}` : ''),
      h('td', {}, p.last_error ? `${p.last_error} (${p.attempts} tries)` : ''))) :
      [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No resales yet.'))]));
  }).catch((e) => body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'error' }, e.message))));
  return h('section', { class: 'card', 'aria-labelledby': 'payouts-title' }, h('h2', { id: 'payouts-title' }, 'Seller payouts'),
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['Seller', 'Resale order', 'Price', 'Seller gets', 'Status', 'When', 'Last error'].map((t) => h('th', {}, t)))),
      body));
}

// reviewQueue is the event's orders held back by the review signals, oldest
// first, each with why and its seats: approve captures the payment and
// sends the tickets; reject (asked twice, since it cannot be undone)
// cancels the authorization and puts the seats back on sale. It reloads
// every few seconds and after each decision.
function reviewQueue(id) {
  const body = h('tbody');
  const count = h('span', { class: 'muted', 'data-testid': 'review-count' }, '');
  let timer = null, stopped = false;
  const load = async () => {
    clearTimeout(timer);
    try {
      const items = await get(`/api/admin/reviews?event=${id}`);
      count.textContent = items.length ? `${items.length} waiting` : 'none waiting';
      body.replaceChildren(...(items.length ? items.map(row)
        : [h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No orders waiting for review.'))]));
    } catch (e) { count.textContent = `could not load: ${e.message}`; }
    if (!stopped) timer = setTimeout(load, reviewRefreshMs);
  };
  const decide = async (o, action, btn) => {
    btn.disabled = true;
    try {
      await api('POST', `/api/admin/orders/${o.id}/${action}`);
      toast(`Order ${o.id.slice(0, 8)} ${action === 'approve' ? 'approved: tickets sent' : 'rejected: seats released, nobody charged'}`);
    } catch (e) { toast(`${action}: ${e.message}`); }
    await load();
  };
  const row = (o) => {
    const approve = h('button', { type: 'button' }, 'Approve');
    approve.addEventListener('click', () => decide(o, 'approve', approve));
    const reject = h('button', { type: 'button', class: 'danger' }, 'Reject');
    reject.addEventListener('click', () => {
      if (reject.dataset.armed) return decide(o, 'reject', reject);
      reject.dataset.armed = '1';
      reject.textContent = 'Confirm reject';
      setTimeout(() => { delete reject.dataset.armed; reject.textContent = 'Reject'; }, 5000);
    });
    return h('tr', { 'data-order': o.id },
      h('td', {}, o.id.slice(0, 8), h('br'), h('span', { class: 'muted' }, dateTime(o.created_at))),
      h('td', {}, o.email),
      h('td', {}, o.seats.join(', ')),
      h('td', {}, money(o.total_cents, o.currency)),
      h('td', {}, o.reasons.map((r) => reasonText[r] || r).join('; ')),
      h('td', {}, h('div', { class: 'row' }, approve, reject)));
  };
  load();
  const el = h('section', { class: 'card', 'aria-labelledby': 'review-title' },
    h('h2', { id: 'review-title' }, 'Review queue ', count),
    h('p', { class: 'muted' }, 'Purchases the velocity and device signals held back. Their seats stay sold and the card authorized, uncaptured, until you decide.'),
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['Order', 'Email', 'Seats', 'Total', 'Why', ''].map((t) => h('th', {}, t)))),
      body));
  return { el, stop: () => { stopped = true; clearTimeout(timer); } };
}

// followStats subscribes to the event's stats frames and reconnects after
// a drop; it returns the function that stops it.
function followStats(id, onStats) {
  let ws = null, stopped = false, timer = null;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const connect = () => {
    ws = new WebSocket(url);
    ws.onopen = () => ws.send(JSON.stringify({ op: 'subscribe', topic: `event:${id}:stats` }));
    ws.onmessage = (m) => {
      let f;
      try { f = JSON.parse(m.data); } catch { return; }
      if (f.type === 'stats' && f.event === String(id)) onStats(f);
    };
    ws.onclose = () => { if (!stopped) timer = setTimeout(connect, 2000); };
  };
  connect();
  return () => { stopped = true; clearTimeout(timer); ws?.close(1000); };
}
