// adminorders.js: the organizer's order tools. /admin/orders searches
// every event's orders (email, name, order id or seat) a page at a time;
// /admin/orders/{id} shows one order with its payment, tickets, transfers,
// resales, refunds, emails and notes, and lets an admin refund it (whole,
// by ticket or by amount, with a reason, seats back on sale or not), send
// the confirmation again, void a ticket and add a note, with the event's
// CSV exports one click away; /admin/roles grants roles. The box office
// may search and read orders; the rest is for admins. Everything goes
// through the same admin API as scripts.
import { api, get } from '../api.js';
import { h, money, dateTime, orderStatusLabel, seatLabel, toast } from '../format.js';

const exportKinds = ['orders', 'attendees', 'checkins', 'refunds', 'payouts', 'ledger'];

function needRole(main, ctx, roles) {
  if (roles.includes(ctx.account?.role)) return false;
  main.append(h('h1', {}, 'Orders'),
    h('p', { class: 'error' }, ctx.account ? 'This page is for organizers.' : 'Sign in as an organizer to see this page.'));
  return true;
}

// exportLinks are the event's CSV downloads, streamed by the server.
export function exportLinks(event) {
  return h('p', { class: 'exports' }, 'Exports (CSV): ', ...exportKinds.flatMap((k, i) => [i ? ' · ' : '',
    h('a', { href: `/api/admin/events/${event}/exports/${k}.csv`, download: '', 'data-export': k }, k)]));
}

// renderOrders: /admin/orders[?q=&event=&page=].
export async function renderOrders(main, _params, ctx) {
  if (needRole(main, ctx, ['admin', 'box_office'])) return;
  const params = new URLSearchParams(location.search);
  const q = h('input', { type: 'search', name: 'q', value: params.get('q') || '', maxlength: 200,
    placeholder: 'email, name, order id or seat (A 3 12)' });
  const event = h('input', { type: 'text', name: 'event', inputmode: 'numeric', value: params.get('event') || '' });
  const page = Math.max(1, Number(params.get('page')) || 1);
  const form = h('form', { class: 'filters', role: 'search' },
    h('label', {}, 'Search orders', q), h('label', {}, 'Event id (optional)', event),
    h('button', { type: 'submit' }, 'Search'));
  const go = (p) => {
    const s = new URLSearchParams();
    if (q.value.trim()) s.set('q', q.value.trim());
    if (event.value.trim()) s.set('event', event.value.trim());
    if (p > 1) s.set('page', String(p));
    ctx.navigate(`/admin/orders${s.toString() ? '?' + s : ''}`);
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); go(1); });
  const results = h('div', { 'aria-live': 'polite' });
  main.append(h('h1', {}, 'Orders'), h('p', {}, h('a', { href: '/admin', 'data-link': true }, 'Admin'), ' · ',
    h('a', { href: '/admin/roles', 'data-link': true }, 'Roles')), form,
    event.value ? exportLinks(event.value) : '', results);
  const s = new URLSearchParams({ q: q.value, page: String(page) });
  if (event.value) s.set('event', event.value);
  try {
    const res = await get(`/api/admin/orders?${s}`);
    results.append(h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['Order', 'Event', 'Buyer', 'Tickets', 'Total', 'Status', 'Placed'].map((t) => h('th', {}, t)))),
      h('tbody', {}, res.orders.length ? res.orders.map((o) => h('tr', { 'data-order': o.id },
        h('td', {}, h('a', { href: `/admin/orders/${o.id}`, 'data-link': true }, o.id.slice(0, 8))),
        h('td', {}, o.event_name || ''), h('td', {}, `${o.name} <${o.email}>`), h('td', {}, String(o.tickets)),
        h('td', {}, money(o.total_cents, o.currency)), h('td', {}, orderStatusLabel[o.status] || o.status),
        h('td', {}, dateTime(o.created_at)))) : [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No orders match.'))])));
    const nav = h('p', {});
    if (page > 1) nav.append(h('button', { type: 'button', onclick: () => go(page - 1) }, 'Previous page'), ' ');
    if (res.more) nav.append(h('button', { type: 'button', onclick: () => go(page + 1) }, 'Next page'));
    results.append(nav);
  } catch (e) { results.append(h('p', { class: 'error' }, e.message)); }
}

// renderOrder: /admin/orders/{id}.
export async function renderOrder(main, [id], ctx) {
  if (needRole(main, ctx, ['admin', 'box_office'])) return;
  const isAdmin = ctx.account.role === 'admin';
  const body = h('div');
  main.append(h('p', {}, h('a', { href: '/admin/orders', 'data-link': true }, 'Orders')), body);
  const load = async () => {
    let o;
    try { o = await get(`/api/admin/orders/${encodeURIComponent(id)}`); } catch (e) {
      body.replaceChildren(h('p', { class: 'error' }, e.message));
      return;
    }
    body.replaceChildren(
      h('h1', {}, `Order ${o.id.slice(0, 8)}`),
      h('p', {}, `${o.event_name} · ${dateTime(o.event_date, o.time_zone)} · `, h('strong', { 'data-order-status': o.status },
        orderStatusLabel[o.status] || o.status), ` · ${money(o.total_cents, o.currency)} · refundable `,
      h('strong', { 'data-refundable': String(o.refundable_cents) }, money(o.refundable_cents, o.currency))),
      h('p', {}, `Buyer: ${o.buyer.name} <${o.buyer.email}>`),
      exportLinks(o.event),
      ticketsCard(o, isAdmin, load),
      isAdmin ? refundCard(o, load) : '',
      listCard('Payment', ['Provider', 'Method', 'Status', 'Amount', 'When'], o.payments.map((p) =>
        [p.provider, p.method || '', p.status, money(p.amount_cents, p.currency), dateTime(p.created_at)])),
      listCard('Refunds', ['Refund', 'Reason', 'Note', 'Tickets', 'Amount', 'Status'], o.refunds.map((r) =>
        [r.id.slice(0, 8), r.reason, r.note || '', String(r.ticket_ids.length), money(r.amount_cents, r.currency), r.status]), 'refunds'),
      listCard('Transfers', ['Ticket', 'From', 'To', 'Status'], o.transfers.map((x) => [x.ticket_id.slice(0, 8), x.from_email, x.to_email, x.status])),
      listCard('Resales', ['Ticket', 'Price', 'Status', 'Payout'], o.resales.map((x) =>
        [x.ticket_id.slice(0, 8), money(x.price_cents, o.currency), x.status, x.payout_status ? `${x.payout_status} ${money(x.payout_cents, o.currency)}` : ''])),
      listCard('Emails', ['Email', 'Status', 'Attempts', 'Queued', 'Sent'], o.emails.map((m) =>
        [m.subject, m.status, String(m.attempts), dateTime(m.created_at), m.sent_at ? dateTime(m.sent_at) : ''])),
      notesCard(o, isAdmin, load));
  };
  await load();
}

function listCard(title, head, rows, key) {
  return h('section', { class: 'card', 'data-card': key || title.toLowerCase() }, h('h2', {}, title),
    rows.length ? h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, head.map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))) : h('p', { class: 'muted' }, 'None.'));
}

// ticketsCard lists the tickets; an admin ticks some to refund them, or
// voids one (no refund).
function ticketsCard(o, isAdmin, reload) {
  return h('section', { class: 'card', 'data-card': 'tickets' }, h('h2', {}, 'Tickets'),
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['', 'Seat', 'Holder', 'Price', 'Status', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, o.tickets.map((t) => {
        const label = seatLabel(t.seat);
        const pick = h('input', { type: 'checkbox', name: 'refund-ticket', value: t.id, 'aria-label': `Refund ${label}`,
          disabled: !isAdmin || t.status !== 'valid' });
        let voidBtn = '';
        if (isAdmin && t.status === 'valid') {
          voidBtn = h('button', { type: 'button', class: 'linklike' }, 'Void');
          voidBtn.addEventListener('click', async () => {
            const reason = prompt(`Void ${label} without a refund? Reason:`);
            if (reason === null) return;
            try { await api('POST', `/api/admin/tickets/${t.id}/void`, { reason }); toast('Ticket voided'); } catch (e) { toast(e.message); }
            await reload();
          });
        }
        return h('tr', { 'data-ticket': t.id }, h('td', {}, pick), h('td', {}, label), h('td', {}, t.holder_name),
          h('td', {}, money(t.price_breakdown.total_cents, o.currency)),
          h('td', {}, o.voided_reasons[t.id] ? `${t.status} (${o.voided_reasons[t.id]})` : t.status), h('td', {}, voidBtn));
      }))));
}

// refundCard: the ticked tickets, or an amount, or (neither) the whole
// order; a reason is required; the seats go back on sale if ticked.
function refundCard(o, reload) {
  const amount = h('input', { type: 'number', name: 'amount', min: '0.01', step: '0.01', inputmode: 'decimal' });
  const reason = h('input', { type: 'text', name: 'reason', required: true, maxlength: 500 });
  const release = h('input', { type: 'checkbox', name: 'release' });
  const form = h('form', { class: 'stack', 'aria-labelledby': 'refund-title' },
    h('p', { class: 'muted' }, 'Tick tickets to refund them, or give an amount, or neither to refund the whole order.'),
    h('label', {}, `Amount (${o.currency.toUpperCase()}, optional)`, amount),
    h('label', {}, 'Reason', reason),
    h('label', { class: 'check' }, release, 'Put the refunded seats back on sale'),
    h('button', { type: 'submit', disabled: o.status !== 'paid' }, 'Refund'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const tickets = [...document.querySelectorAll('input[name="refund-ticket"]:checked')].map((c) => c.value);
    const req = { reason: reason.value.trim(), release_seats: release.checked };
    if (amount.value) req.amount_cents = Math.round(Number(amount.value) * 100);
    else if (tickets.length) req.ticket_ids = tickets;
    try {
      const r = await api('POST', `/api/admin/orders/${o.id}/refund`, req);
      toast(`Refund of ${money(r.amount_cents, r.currency)} on its way`);
    } catch (err) { toast(`Refund: ${err.message}`); }
    await reload();
  });
  const resend = h('button', { type: 'button' }, 'Send the confirmation again');
  resend.addEventListener('click', async () => {
    try { await api('POST', `/api/admin/orders/${o.id}/confirmation`); toast('Confirmation queued'); } catch (e) { toast(e.message); }
    await reload();
  });
  return h('section', { class: 'card', 'data-card': 'refund' }, h('h2', { id: 'refund-title' }, 'Refund'), form, h('p', {}, resend));
}

function notesCard(o, isAdmin, reload) {
  const text = h('textarea', { name: 'note', rows: 2, maxlength: 2000, required: true });
  const form = h('form', { class: 'stack' }, h('label', {}, 'New note', text), h('button', { type: 'submit' }, 'Add note'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try { await api('POST', `/api/admin/orders/${o.id}/notes`, { body: text.value }); } catch (err) { toast(err.message); }
    await reload();
  });
  return h('section', { class: 'card', 'data-card': 'notes' }, h('h2', {}, 'Notes'),
    h('ul', {}, o.notes.map((n) => h('li', {}, `${dateTime(n.created_at)} · ${n.author}: ${n.body}`))), isAdmin ? form : '');
}

// renderRoles: /admin/roles, find an account and give it a role.
export async function renderRoles(main, _params, ctx) {
  if (needRole(main, ctx, ['admin'])) return;
  const q = h('input', { type: 'search', name: 'q', maxlength: 200 });
  const results = h('tbody');
  const find = h('form', { class: 'filters', role: 'search' }, h('label', {}, 'Find an account', q), h('button', { type: 'submit' }, 'Find'));
  const load = async () => {
    try {
      const list = await get(`/api/admin/accounts?q=${encodeURIComponent(q.value.trim())}`);
      results.replaceChildren(...list.map((a) => roleRow(a)));
    } catch (e) { toast(e.message); }
  };
  find.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  main.append(h('h1', {}, 'Roles'), h('p', { class: 'muted' },
    'Admins do everything; box office sells at the door and finds orders; finance reads the ledger and exports; a scanner checks tickets in, at one event if you give its id.'),
  find, h('table', { class: 'admin-table' },
    h('thead', {}, h('tr', {}, ['Account', 'Role', 'Scanner event', ''].map((t) => h('th', {}, t)))), results));
}

function roleRow(a) {
  const role = h('select', { name: 'role', 'aria-label': `Role of ${a.email}` },
    ['fan', 'admin', 'box_office', 'finance', 'scanner'].map((r) => h('option', { value: r, selected: r === a.role }, r)));
  const event = h('input', { type: 'text', name: 'event', inputmode: 'numeric', value: a.role_event_id || '', 'aria-label': `Scanner event of ${a.email}` });
  const save = h('button', { type: 'button' }, 'Save');
  save.addEventListener('click', async () => {
    const req = { role: role.value };
    if (event.value.trim() && role.value === 'scanner') req.event_id = event.value.trim();
    try { const r = await api('PUT', `/api/admin/accounts/${a.id}/role`, req); toast(`${r.email} is now ${r.role}`); } catch (e) { toast(e.message); }
  });
  return h('tr', { 'data-account': a.id }, h('td', {}, `${a.name} <${a.email}>`), h('td', {}, role), h('td', {}, event), h('td', {}, save));
}
