// An order: what was bought, with links to the tickets and the PDF. An
// order the review signals held back says what happens next instead.
import { get } from '../api.js';
import { h, money, dateTime, orderStatusLabel, seatLabel } from '../format.js';

// reviewText explains the orders that have no tickets to show yet, or any more.
const reviewText = {
  review: 'We are checking this purchase, usually within a day. Your seats are kept for you and your card is authorized but not charged. Your tickets arrive by email once the order is confirmed; if it is not, the authorization is released and you pay nothing.',
  rejected: 'We could not confirm this order, so it was cancelled and the seats released. You were not charged.',
};

// breakdown lists an all-in price's parts: face value, fees and tax.
function breakdown(b, currency) {
  const row = (label, cents) => [h('dt', {}, label), h('dd', {}, money(cents, currency))];
  return h('dl', { class: 'breakdown' },
    ...row('Tickets', b.face_cents),
    ...(b.service_fee_cents ? row('Service fees', b.service_fee_cents) : []),
    ...(b.facility_fee_cents ? row('Facility fees', b.facility_fee_cents) : []),
    ...(b.tax_cents ? row(b.tax_included ? 'Tax (included in the tickets)' : 'Tax', b.tax_cents) : []),
    ...row('Total', b.total_cents));
}

export async function render(main, [orderId], ctx) {
  if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, true); return; }
  let order;
  try {
    order = await get(`/api/orders/${orderId}`);
  } catch (err) {
    main.append(h('h1', {}, 'Order'), h('p', { class: 'error' }, err.status === 404 ? 'There is no such order.' : err.message));
    return;
  }
  const usable = order.status === 'paid';
  // Element.append writes null as the text "null": absent parts are
  // left out, not passed.
  main.append(...[
    h('h1', {}, order.status === 'review' ? 'Order received' : order.status === 'rejected' ? 'Order not confirmed' : 'Thank you!'),
    h('p', { 'data-testid': 'order-status' }, `Order ${order.id} · ${orderStatusLabel[order.status] || order.status} · ${money(order.total_cents, order.currency || 'usd')}`),
    h('p', {}, h('a', { href: `/events/${order.event}`, 'data-link': true }, order.event_name), ' · ',
      h('time', { datetime: order.event_date, 'data-testid': 'order-date' }, dateTime(order.event_date, order.time_zone))),
    reviewText[order.status] ? h('p', { class: order.status === 'rejected' ? 'error' : 'notice' }, reviewText[order.status]) : null,
    h('ul', {}, ...(order.tickets || []).map((t) => h('li', {}, t.seat ? seatLabel(t.seat) : t.id,
      t.price_breakdown ? ` · ${t.price_type_name || t.price_type} · ${money(t.price_breakdown.total_cents, order.currency || 'usd')}` : null))),
    order.price_breakdown ? h('details', { class: 'price-details' }, h('summary', {}, 'What the total is made of'),
      breakdown(order.price_breakdown, order.currency || 'usd')) : null,
    usable ? h('p', {}, h('a', { class: 'button', href: '/tickets', 'data-link': true }, 'See your tickets'), ' ',
      h('a', { class: 'button secondary', href: `/api/orders/${order.id}/pdf` }, 'Download PDF'), ' ',
      h('a', { class: 'button secondary', href: `/api/orders/${order.id}/calendar.ics`, download: 'boxoffice-order.ics' }, 'Add to calendar'), ' ',
      h('a', { class: 'button secondary', href: `/api/orders/${order.id}/receipt.pdf` }, 'Receipt')) : null,
  ].filter(Boolean));
}
