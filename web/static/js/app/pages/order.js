// An order: what was bought, with links to the tickets and the PDF.
import { get } from '../api.js';
import { h, money } from '../format.js';

export async function render(main, [orderId], ctx) {
  if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, true); return; }
  let order;
  try {
    order = await get(`/api/orders/${orderId}`);
  } catch (err) {
    main.append(h('h1', {}, 'Order'), h('p', { class: 'error' }, err.status === 404 ? 'There is no such order.' : err.message));
    return;
  }
  main.append(
    h('h1', {}, 'Thank you!'),
    h('p', {}, `Order ${order.id} · ${order.status} · ${money(order.total_cents, order.currency || 'usd')}`),
    h('ul', {}, ...(order.tickets || []).map((t) => h('li', {}, t.seat ? `${t.seat.section} · Row ${t.seat.row} · Seat ${t.seat.number}` : t.id))),
    h('p', {}, h('a', { class: 'button', href: '/tickets', 'data-link': true }, 'See your tickets'), ' ',
      h('a', { class: 'button secondary', href: `/api/orders/${order.id}/pdf` }, 'Download PDF')));
}
