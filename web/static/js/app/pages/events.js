// The events list: what is on sale, what is coming.
import { get } from '../api.js';
import { h, money, dateTime, statusLabel } from '../format.js';

export async function render(main) {
  main.append(h('h1', {}, 'Events'));
  const list = h('div', { class: 'grid', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading events…'));
  main.append(list);
  let events;
  try {
    events = await get('/api/events');
  } catch (err) {
    list.replaceChildren(h('p', { class: 'error' }, `Could not load events: ${err.message}`));
    return;
  }
  list.removeAttribute('aria-busy');
  if (!events.length) {
    list.replaceChildren(h('p', { class: 'muted' }, 'No events yet. An admin can create one, or run `boxoffice seed demo`.'));
    return;
  }
  list.replaceChildren(...events.map((e) => h('article', { class: 'card event-card' },
    h('h2', {}, h('a', { href: `/events/${e.id}`, 'data-link': true }, e.name)),
    h('p', { class: 'muted' }, `${e.venue.name} · ${dateTime(e.event_date)}`),
    h('p', {}, h('span', { class: `badge ${e.status}` }, statusLabel[e.status] || e.status),
      ' ', e.status === 'upcoming' ? `sale opens ${dateTime(e.sale_opens)}` : `${e.available.toLocaleString()} seats available`),
    h('p', {}, `${money(e.min_price_cents, e.currency)} – ${money(e.max_price_cents, e.currency)}`),
  )));
}
