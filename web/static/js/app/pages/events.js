// The events list: what is on sale and coming, searchable by words, city
// and dates, a page at a time. The filters live in the address (?q=&city=
// &from=&to=) so a search can be shared and reloaded.
import { getPage } from '../api.js';
import { h, money, dateTime, statusLabel } from '../format.js';

const PAGE = 24;

export async function render(main, _params, ctx) {
  const params = new URLSearchParams(location.search);
  const field = (name, label, attrs = {}) => h('label', {}, label,
    h('input', { name, value: params.get(name) || '', ...attrs }));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Find events', onsubmit: search },
    field('q', 'Search', { type: 'search', placeholder: 'Artist, event, venue…', maxlength: 200 }),
    field('city', 'City', { type: 'text', maxlength: 100 }),
    field('from', 'From', { type: 'date' }),
    field('to', 'To', { type: 'date' }),
    h('button', { type: 'submit' }, 'Search'));
  const list = h('div', { class: 'grid', 'aria-busy': 'true', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading events…'));
  const more = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => load(cursor) }, 'More events');
  main.append(h('h1', {}, 'Events'), form, list, h('p', {}, more));
  let cursor = null;

  function search(e) {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) q.set(k, String(v).trim());
    const qs = q.toString();
    ctx.navigate(qs ? `/?${qs}` : '/');
  }

  async function load(after) {
    const q = new URLSearchParams();
    for (const k of ['q', 'city', 'from', 'to']) if (params.get(k)) q.set(k, params.get(k));
    q.set('limit', PAGE);
    if (after) q.set('after', after);
    more.disabled = true;
    let page;
    try {
      page = await getPage(`/api/events?${q}`);
    } catch (err) {
      list.replaceChildren(h('p', { class: 'error' }, `Could not load events: ${err.message}`));
      return;
    } finally {
      more.disabled = false;
    }
    list.removeAttribute('aria-busy');
    if (!after) list.replaceChildren();
    if (!after && !page.items.length) {
      const filtered = ['q', 'city', 'from', 'to'].some((k) => params.get(k));
      list.append(h('p', { class: 'muted' }, filtered
        ? 'No events match. Try fewer words or other dates.'
        : 'No events yet. An admin can create one, or run `boxoffice seed demo`.'));
    }
    list.append(...page.items.map(card));
    cursor = page.next;
    more.hidden = !cursor;
  }

  await load(null);
}

function card(e) {
  const place = [e.venue.name, e.venue.city].filter(Boolean).join(', ');
  return h('article', { class: 'card event-card' },
    e.image_url ? h('img', { src: e.image_url, alt: '', loading: 'lazy', class: 'event-thumb' }) : null,
    h('h2', {}, h('a', { href: `/events/${e.id}`, 'data-link': true }, e.name)),
    e.artist || e.genre ? h('p', {}, [e.artist, e.genre].filter(Boolean).join(' · ')) : null,
    h('p', { class: 'muted' }, `${place} · ${dateTime(e.event_date, e.time_zone)}`),
    h('p', {}, h('span', { class: `badge ${e.status}` }, statusLabel[e.status] || e.status),
      ' ', e.status === 'upcoming' ? `sale opens ${dateTime(e.sale_opens, e.time_zone)}` : `${e.available.toLocaleString()} seats available`),
    h('p', {}, `${money(e.min_price_cents, e.currency)} – ${money(e.max_price_cents, e.currency)}`));
}
