// My orders: every order of the signed-in fan, newest first.
import { get } from '../api.js';
import { h, money, dateTime, orderStatusLabel } from '../format.js';

export async function render(main, _params, ctx) {
  if (!ctx.account) { ctx.navigate('/signin?next=/orders', true); return; }
  main.append(h('h1', {}, 'My orders'));
  let orders;
  try {
    orders = await get('/api/orders');
  } catch (err) {
    main.append(h('p', { class: 'error' }, `Could not load your orders: ${err.message}`));
    return;
  }
  if (!orders.length) {
    main.append(h('p', { class: 'muted' }, 'No orders yet. ', h('a', { href: '/', 'data-link': true }, 'Find an event')));
    return;
  }
  main.append(h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Order'), h('th', {}, 'Event'), h('th', {}, 'Tickets'), h('th', {}, 'Total'), h('th', {}, 'Status'))),
    h('tbody', {}, ...orders.map((o) => h('tr', {},
      h('td', {}, h('a', { href: `/orders/${o.id}`, 'data-link': true }, o.created_at ? dateTime(o.created_at) : o.id.slice(0, 8))),
      h('td', {}, o.event?.name || o.event_name || ''),
      h('td', {}, String((o.tickets || []).length)),
      h('td', {}, money(o.total_cents, o.currency || 'usd')),
      h('td', {}, orderStatusLabel[o.status] || o.status))))));
}
