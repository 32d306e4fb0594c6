// boxoffice.js: /box-office, selling at the door. The operator (admin or
// box_office) picks an event, asks for the best seats (optionally in one
// section) or for places of a standing area, marks how the money was taken
// and whose name goes on the tickets, and sells: the same
// POST /api/admin/events/{event}/counter-sales scripts use. The sale
// answers with the order, whose tickets print from its PDF.
import { get, post } from '../api.js';
import { h, money, seatLabel, dateTime } from '../format.js';

const roles = ['admin', 'box_office'];

// renderBoxOffice: /box-office[?event=].
export async function renderBoxOffice(main, _params, ctx) {
  main.append(h('h1', {}, 'Box office'));
  if (!roles.includes(ctx.account?.role)) {
    main.append(h('p', { class: 'error' }, ctx.account ? 'This page is for the box office.' : 'Sign in as box office staff to see this page.'));
    return;
  }
  const events = (await get('/api/events?limit=100')).filter((e) => e.status === 'on_sale');
  if (!events.length) {
    main.append(h('p', { class: 'muted' }, 'No event is on sale.'));
    return;
  }
  const chosen = new URLSearchParams(location.search).get('event');
  const eventSel = h('select', { name: 'event' }, ...events.map((e) =>
    h('option', { value: e.id, selected: e.id === chosen ? '' : null }, `${e.name} · ${dateTime(e.event_date, e.time_zone)}`)));
  const form = h('form', { class: 'card stack', 'aria-label': 'Counter sale' });
  const result = h('div', { 'aria-live': 'polite' });
  main.append(h('p', {}, h('label', {}, 'Event ', eventSel)), form, result);
  const build = async () => {
    form.replaceChildren(h('p', { class: 'muted' }, 'Loading the event…'));
    const ev = await get(`/api/events/${eventSel.value}`);
    const seated = ev.sections.filter((s) => s.kind !== 'ga');
    const standing = ev.sections.filter((s) => s.kind === 'ga');
    const kind = h('select', { name: 'kind' },
      seated.length ? h('option', { value: 'best' }, 'Best available seats') : '',
      standing.length ? h('option', { value: 'ga' }, 'Standing places') : '');
    const sectionSel = h('select', { name: 'section' });
    const fillSections = () => sectionSel.replaceChildren(...(kind.value === 'ga'
      ? standing.map((s) => h('option', { value: s.id }, s.name))
      : [h('option', { value: '' }, 'Any section'), ...seated.map((s) => h('option', { value: s.id }, s.name))]));
    kind.addEventListener('change', fillSections);
    fillSections();
    const quantity = h('input', { name: 'quantity', type: 'number', min: 1, max: 64, value: 2, required: true });
    const method = h('select', { name: 'method' }, h('option', { value: 'cash' }, 'Cash'), h('option', { value: 'card_present' }, 'Card, on the venue\'s terminal'));
    const holder = h('input', { name: 'holder', type: 'text', maxlength: 100, placeholder: 'Box office' });
    const sell = h('button', { type: 'submit' }, 'Sell');
    form.replaceChildren(h('h2', {}, ev.name),
      h('label', {}, 'What ', kind), h('label', {}, 'Section ', sectionSel), h('label', {}, 'How many ', quantity),
      h('label', {}, 'Paid by ', method), h('label', {}, 'Name on the tickets ', holder), sell);
    form.onsubmit = async (e) => {
      e.preventDefault();
      sell.disabled = true;
      const n = Number(quantity.value);
      const body = { method: method.value };
      if (holder.value.trim()) body.holder_name = holder.value.trim();
      if (kind.value === 'ga') body.ga = { section: sectionSel.value, quantity: n };
      else body.best_available = sectionSel.value ? { quantity: n, section: sectionSel.value } : { quantity: n };
      try {
        const o = await post(`/api/admin/events/${ev.id}/counter-sales`, body);
        result.replaceChildren(h('section', { class: 'card stack', 'data-counter-order': o.id },
          h('p', { role: 'status' }, `Sold ${o.tickets.length} ticket${o.tickets.length === 1 ? '' : 's'} for ${money(o.total_cents, o.currency)}.`),
          h('ul', {}, ...o.tickets.map((t) => h('li', {}, seatLabel(t.seat)))),
          h('p', {}, h('a', { href: `/api/orders/${o.id}/pdf`, 'data-print': true }, 'Print the tickets (PDF)'), ' · ',
            h('a', { href: `/admin/orders/${o.id}`, 'data-link': true }, 'Order page'))));
      } catch (err) {
        result.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
      } finally {
        sell.disabled = false;
      }
    };
  };
  eventSel.addEventListener('change', build);
  await build();
}
