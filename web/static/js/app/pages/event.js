// The event page: the live seat map, selection, best available and the hold.
import { get, post } from '../api.js';
import { h, money, dateTime, statusLabel, toast, paragraphs, seatLabel } from '../format.js';
import { SeatMapView, COLORS, LABELS } from '../seatmap.js';
import { followSeats } from '../live.js';
import { waitlist } from '../waitlist.js';
import { presaleCard } from '../presale.js';
import { lotteryCard } from '../lottery.js';

export async function render(main, [eventId], ctx) {
  main.append(h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading the seat map…'));
  let ev, layout;
  try {
    [ev, layout] = await Promise.all([get(`/api/events/${eventId}`), get(`/api/events/${eventId}/seatmap`)]);
  } catch (err) {
    main.replaceChildren(h('h1', {}, 'Event'), h('p', { class: 'error' }, err.status === 404 ? 'There is no such event.' : `Could not load the event: ${err.message}`));
    return;
  }
  const room = ev.waiting_room || {};
  // Before the general sale, a fan let into an open presale window holds.
  const presale = await presaleCard(eventId, ev, ctx, () => renderSelection());
  // Only an event with a lottery asks for it (the lottery answers 404
  // otherwise, which the console would log).
  const lottery = presale?.hasLottery ? await lotteryCard(eventId, ev, ctx) : null;
  const canHold = () => ev.status === 'on_sale' || Boolean(presale?.hasOpenAccess());
  const tokenKey = `admission:${eventId}`;
  const cap = ev.max_seats_per_account || 8;
  const selected = new Set();
  // Every price shown is all-in: the seat map gives face values, the
  // event's price list what each costs with fees and tax (first price type;
  // other types are chosen at checkout).
  const firstType = ev.price_types?.[0]?.key || 'standard';
  const allIn = new Map((ev.prices || []).filter((p) => p.price_type === firstType).map((p) => [p.price_cents, p.price_breakdown]));
  const priceOf = (s) => allIn.get(s.price_cents)?.total_cents ?? s.price_cents;
  const sectionFrom = new Map((ev.sections || []).map((x) => [x.id, x.min_price_cents]));
  const feeNote = (s) => {
    const b = allIn.get(s.price_cents);
    if (!b || b.total_cents === b.face_cents) return '';
    return ` (ticket ${money(b.face_cents, ev.currency)} + fees ${money(b.service_fee_cents + b.facility_fee_cents, ev.currency)}${b.tax_included ? '' : ` + tax ${money(b.tax_cents, ev.currency)}`})`;
  };

  const canvas = h('canvas', { role: 'application', tabindex: '0', 'aria-label': `Seat map of ${ev.venue.name}. Arrow keys move between seats, Enter selects, plus and minus zoom.` });
  const tip = h('div', { class: 'tooltip', hidden: true });
  const live = h('p', { class: 'sr-only', 'aria-live': 'polite' });
  const tools = h('div', { class: 'map-tools' },
    h('button', { type: 'button', 'aria-label': 'Zoom in', onclick: () => view.zoomAt(1.5) }, '+'),
    h('button', { type: 'button', 'aria-label': 'Zoom out', onclick: () => view.zoomAt(1 / 1.5) }, '−'),
    h('button', { type: 'button', 'aria-label': 'Show the whole venue', onclick: () => view.fit() }, '⤢'));
  const legend = h('ul', { class: 'legend', 'aria-label': 'Legend' },
    ...['a', 'h', 's', 'r', 'x', 'sel'].map((k) => h('li', {}, swatch(k), LABELS[k])));
  const list = h('ul', { class: 'selection', 'aria-live': 'polite' });
  const total = h('p', {});
  const err = h('p', { class: 'error', role: 'alert' });
  // A resale seat (x) is bought through its listing, one seat at a time.
  const resale = h('div', { class: 'card', hidden: true, 'aria-live': 'polite' });
  const holdBtn = h('button', { type: 'button', disabled: true }, 'Hold seats');
  const qty = h('select', { name: 'quantity', 'aria-label': 'Number of seats' }, ...Array.from({ length: cap }, (_, i) => h('option', { value: i + 1 }, i + 1)));
  const section = h('select', { name: 'section', 'aria-label': 'Section' }, h('option', { value: '' }, 'Any section'),
    ...layout.sections.filter((s) => s.kind !== 'ga').map((s) => h('option', { value: s.id }, `${s.name} (${money(sectionFrom.get(s.id) ?? s.min_price_cents, ev.currency)}+)`)));
  const maxPrice = h('input', { type: 'number', min: 0, step: 1, name: 'max_price', placeholder: 'Any price', 'aria-label': 'Maximum price per seat, fees and tax included' });
  const bestBtn = h('button', { type: 'submit', class: 'secondary' }, 'Find best seats');
  // Standing (general-admission) areas: a fan picks a quantity, not places.
  const gaSections = layout.sections.filter((s) => s.kind === 'ga');
  const gaForms = new Map(gaSections.map((s) => {
    const left = h('span', { class: 'muted', 'data-ga-left': s.id }, '');
    const count = h('select', { name: 'ga_quantity', 'aria-label': `Number of places on ${s.name}` },
      ...Array.from({ length: cap }, (_, i) => h('option', { value: i + 1 }, i + 1)));
    const btn = h('button', { type: 'submit' }, 'Hold places');
    const note = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { class: 'stack', 'data-ga': s.id, onsubmit: async (e) => {
      e.preventDefault();
      btn.disabled = true;
      await hold({ ga: { section: s.id, quantity: Number(count.value) } }, note);
      btn.disabled = false;
    } },
    h('p', {}, h('strong', {}, s.name), ` · ${money(sectionFrom.get(s.id) ?? s.min_price_cents, ev.currency)} all-in · general admission · `, left),
    h('label', {}, 'Places', count), btn, note);
    return [s.id, { form, left, count, btn }];
  }));
  const gaCard = gaSections.length ? h('div', { class: 'card stack' }, h('h2', {}, 'Standing'),
    h('p', { class: 'muted' }, 'No numbered seats: choose how many, and you are let in to the area.'),
    ...[...gaForms.values()].map((f) => f.form)) : '';
  const acc = accessibleControls(ev, layout, qty, (on) => view.setHighlighted(on ? acc.seats : []), (text) => { live.textContent = text; });

  const wl = waitlist({ eventId, ev, layout, cap, ctx });
  const about = paragraphs(ev.description);
  main.replaceChildren(
    ev.image_url ? h('img', { src: ev.image_url, alt: '', class: 'event-hero' }) : '',
    h('h1', {}, ev.name),
    ev.artist || ev.genre ? h('p', { 'data-testid': 'event-artist' }, [ev.artist, ev.genre].filter(Boolean).join(' · ')) : '',
    h('p', { class: 'muted' }, `${[ev.venue.name, ev.venue.city].filter(Boolean).join(', ')} · `,
      h('time', { datetime: ev.event_date, 'data-testid': 'event-date' }, dateTime(ev.event_date, ev.time_zone)), ' · ',
      h('span', { class: `badge ${ev.status}` }, statusLabel[ev.status] || ev.status)),
    about.length ? h('section', { class: 'event-about', 'aria-label': 'About this event' }, ...about) : '',
    notice() || '',
    wl.banner,
    lottery?.card || '',
    presale?.card || '',
    h('div', { class: 'layout-event' },
      h('section', { 'aria-label': 'Seat map' }, h('div', { class: 'map-wrap' }, canvas, tools, tip, live), legend, acc.filter),
      h('aside', { class: 'panel' },
        h('div', { class: 'card' }, h('h2', {}, 'Your selection'), list, total, holdBtn, err),
        resale,
        wl.card,
        gaCard,
        h('form', { class: 'card stack', onsubmit: holdBest }, h('h2', {}, 'Best available'),
          h('label', {}, 'Seats', qty), acc.form, h('label', {}, 'Section', section), h('label', {}, 'Max price per seat, all-in ($)', maxPrice), bestBtn))));

  function notice() {
    if (ev.status === 'upcoming') return h('p', { class: 'card' }, `The sale opens ${dateTime(ev.sale_opens, ev.time_zone)}.`, room.enabled ? [' ', h('a', { href: `/events/${eventId}/queue`, 'data-link': true }, 'Join the waiting room')] : []);
    if (ev.status !== 'on_sale') return h('p', { class: 'card' }, `This event is ${statusLabel[ev.status]?.toLowerCase() || ev.status}: seats cannot be held right now.`);
    if (room.enabled && !sessionStorage.getItem(tokenKey)) return h('p', { class: 'card' }, 'This sale uses a waiting room. ', h('a', { href: `/events/${eventId}/queue`, 'data-link': true }, 'Join the queue'), ' to get your turn to pick seats.');
    return null;
  }

  const view = new SeatMapView(canvas, layout, {
    onToggle: toggle,
    onArea: (a) => {
      const f = gaForms.get(a.id);
      if (!f) return;
      f.form.scrollIntoView({ block: 'nearest' });
      f.count.focus();
      live.textContent = `${a.name}: general admission, ${view.areaText(a)}. Choose how many places.`;
    },
    onAreas: (areas) => {
      for (const a of areas) {
        const f = gaForms.get(a.id);
        if (!f) continue;
        f.left.textContent = view.areaText(a);
        f.btn.disabled = a.left === 0 || !canHold();
      }
    },
    onHoverArea: (a, x, y) => {
      tip.textContent = `${a.name} · general admission · ${money(priceOf(a), ev.currency)} all-in · ${view.areaText(a)}`;
      tip.style.left = `${x}px`; tip.style.top = `${y}px`; tip.hidden = false;
    },
    onHover: (i, x, y) => {
      if (i < 0) { tip.hidden = true; return; }
      const s = layout.seats[i];
      const state = view.selected.has(i) ? 'sel' : view.stateOf(i);
      const label = s.type === 'accessible' && state === 'r' ? 'kept for fans who ask for accessible seats' : LABELS[state] || '';
      tip.textContent = `${layout.sections.find((x2) => x2.id === s.section)?.name || s.section} · Row ${s.row} · Seat ${s.number} · ${money(priceOf(s), ev.currency)} all-in${feeNote(s)} · ${s.type} · ${label}`;
      tip.style.left = `${x}px`; tip.style.top = `${y}px`; tip.hidden = false;
    },
    announce: (text) => { live.textContent = text; },
  });
  window.__boxoffice = { view, layout };

  function toggle(i) {
    err.textContent = '';
    if (!selected.has(i) && view.stateOf(i) === 'x') { offerResale(i); return; }
    if (selected.has(i)) selected.delete(i);
    else if (view.stateOf(i) !== 'a') { live.textContent = `${view.describe(i)}: not available`; return; }
    else if (selected.size >= cap) { err.textContent = `You can pick up to ${cap} seats.`; return; }
    else selected.add(i);
    view.setSelected(selected);
    live.textContent = view.describe(i);
    renderSelection();
  }

  function renderSelection() {
    const seats = [...selected].map((i) => layout.seats[i]);
    list.replaceChildren(...(seats.length ? seats.map((s) => h('li', {}, seatLabel(s), h('span', {}, money(priceOf(s), ev.currency))))
      : [h('li', { class: 'muted' }, 'Tap seats on the map, or ask for the best available.')]));
    total.textContent = seats.length ? `Total ${money(seats.reduce((a, s) => a + priceOf(s), 0), ev.currency)} (fees and tax included)` : '';
    holdBtn.disabled = !seats.length || !canHold();
    holdBtn.textContent = seats.length ? `Hold ${seats.length} seat${seats.length > 1 ? 's' : ''}` : 'Hold seats';
  }
  renderSelection();

  // offerResale shows the listing of a resale seat with a button to hold it.
  async function offerResale(i) {
    const s = layout.seats[i];
    resale.hidden = false;
    resale.replaceChildren(h('h2', {}, 'Resale ticket'), h('p', { class: 'muted' }, 'Looking up the listing…'));
    let listing;
    try {
      listing = (await get(`/api/events/${eventId}/listings`)).find((l) => l.idx === i);
    } catch (e) {
      resale.replaceChildren(h('h2', {}, 'Resale ticket'), h('p', { class: 'error' }, e.message));
      return;
    }
    if (!listing) {
      resale.replaceChildren(h('h2', {}, 'Resale ticket'), h('p', { class: 'muted' }, 'This resale seat was just taken or withdrawn.'));
      return;
    }
    const buy = h('button', { type: 'button' }, `Buy for ${money(listing.price_cents, listing.currency)}`);
    const note = h('p', { class: 'error', role: 'alert' });
    buy.addEventListener('click', async () => {
      if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`); return; }
      buy.disabled = true;
      const headers = {};
      const token = sessionStorage.getItem(tokenKey);
      if (token) headers['X-Admission-Token'] = token;
      try {
        const held = await post(`/api/listings/${listing.id}/holds`, undefined, headers);
        view.applyChanges([[i, 'h']]);
        ctx.navigate(`/checkout/${held.id}`);
      } catch (e) {
        note.textContent = e.code === 'listing_unavailable' ? 'Someone was faster for this resale ticket.'
          : e.code === 'own_listing' ? 'This is your own listing; withdraw it under My tickets.' : e.message;
        buy.disabled = false;
      }
    });
    resale.replaceChildren(h('h2', {}, 'Resale ticket'),
      h('p', {}, seatLabel(s)),
      h('p', { class: 'muted' }, `Sold by another fan at ${money(listing.price_cents, listing.currency)} (face value ${money(s.price_cents, ev.currency)}).`),
      buy, note);
    live.textContent = `${view.describe(i)}: resale for ${money(listing.price_cents, listing.currency)}`;
  }

  // Seats of a hold request in flight: the socket may report them held
  // (by us) before the response arrives, which is no reason to alarm.
  const pending = new Set();

  async function hold(body, note = err) {
    if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`); return; }
    note.textContent = '';
    for (const i of selected) pending.add(i);
    const headers = {};
    const token = sessionStorage.getItem(tokenKey);
    if (token) headers['X-Admission-Token'] = token;
    try {
      const held = await post(`/api/events/${eventId}/holds`, body, headers);
      selected.clear();
      view.applyChanges(held.seats.map((s) => [s.idx, 'h']));
      ctx.navigate(`/checkout/${held.id}`);
    } catch (e) {
      if (e.code === 'seat_unavailable' && (body.ga || body.best_available)) wl.setSoldOut(true);
      if (e.code === 'seat_unavailable' && body.ga) {
        note.textContent = 'Not that many places are left in this area. Try fewer, or join the waiting list.';
      } else if (e.code === 'seat_unavailable' && e.details.seats) {
        const gone = new Set(e.details.seats);
        for (const i of [...selected]) if (gone.has(layout.seats[i].id)) { selected.delete(i); view.applyChanges([[i, 'h']]); }
        view.setSelected(selected);
        renderSelection();
        note.textContent = 'Someone was faster for some of those seats. They are gone from your selection; pick others.';
      } else if (e.code === 'email_not_verified') {
        note.replaceChildren(e.message, ' ', h('a', { href: '/account', 'data-link': true }, 'Your account'));
      } else if (e.code === 'not_admitted') {
        note.textContent = 'Your turn in the waiting room has not come yet (or it ended).';
        ctx.navigate(`/events/${eventId}/queue`);
      } else {
        note.textContent = e.message;
      }
    } finally {
      pending.clear();
    }
  }
  holdBtn.addEventListener('click', async () => {
    holdBtn.disabled = true;
    await hold({ seat_ids: [...selected].map((i) => layout.seats[i].id) });
    renderSelection();
  });
  async function holdBest(e) {
    e.preventDefault();
    bestBtn.disabled = true;
    const body = { best_available: { quantity: Number(qty.value) } };
    if (section.value) body.best_available.section = section.value;
    if (maxPrice.value) body.best_available.max_price_cents = Math.round(Number(maxPrice.value) * 100);
    if (acc.count() > 0) body.best_available.accessible = acc.count();
    await hold(body);
    bestBtn.disabled = false;
  }

  const stop = followSeats(eventId, {
    onSnapshot: (statuses) => { view.setStatuses(statuses); wl.setSoldOut(!statuses.includes('a')); },
    onFrame: (f) => wl.onFrame(f),
    onChanges: (changes) => {
      view.applyChanges(changes);
      wl.setSoldOut(!layout.seats.some((_, i) => view.stateOf(i) === 'a'));
      let lost = false;
      for (const [i, st] of changes) if (st !== 'a' && !pending.has(i) && selected.delete(i)) lost = true;
      if (lost) { view.setSelected(selected); renderSelection(); toast('A seat you picked was just taken.'); }
    },
  });
  return () => { stop(); wl.stop(); presale?.stop(); delete window.__boxoffice; };
}

// accessibleControls builds the accessible-seating parts of the page, both
// empty when the venue has no accessible seat: a filter under the map that
// rings the accessible seats (highlight(on)), and, for the best-available
// form, how many of the seats are accessible (the rest are companions
// beside them) with the notice the fan declares against.
function accessibleControls(ev, layout, qty, highlight, announce) {
  const info = ev.accessible || { seats: 0 };
  const seats = layout.seats.flatMap((s, i) => (s.type === 'accessible' ? [i] : []));
  if (!seats.length) return { seats, filter: '', form: '', count: () => 0 };
  const toggle = h('input', { type: 'checkbox', name: 'accessible_filter' });
  const hint = h('p', { class: 'muted', hidden: true },
    `${info.available} of ${info.seats} accessible seats (ringed) can be booked: choose “Accessible seats” under Best available.`);
  toggle.addEventListener('change', () => {
    highlight(toggle.checked);
    hint.hidden = !toggle.checked;
    announce(toggle.checked ? `${seats.length} accessible seats highlighted.` : 'Accessible seats no longer highlighted.');
  });
  const count = h('select', { name: 'accessible', 'aria-label': 'Accessible seats' });
  const declare = h('input', { type: 'checkbox', name: 'accessible_declared' });
  const notice = h('div', { class: 'card', hidden: true, role: 'note' }, h('p', {}, info.notice || ''),
    h('label', { class: 'check' }, declare, 'I, or someone I am booking for, needs accessible seating.'));
  const update = () => {
    const q = Number(qty.value), keep = Math.min(Number(count.value || 0), q);
    count.replaceChildren(h('option', { value: 0 }, 'None'), ...Array.from({ length: q }, (_, i) => h('option', { value: i + 1 }, i + 1)));
    count.value = String(keep);
    notice.hidden = keep === 0;
    declare.required = keep > 0;
  };
  qty.addEventListener('change', update);
  count.addEventListener('change', update);
  update();
  return {
    seats,
    filter: h('div', {}, h('label', { class: 'check' }, toggle, swatch('acc'), 'Highlight accessible seats'), hint),
    form: h('div', { class: 'stack' }, h('label', {}, 'Accessible seats', count),
      h('p', { class: 'muted' }, 'The other seats are companion seats beside them.'), notice),
    count: () => Number(count.value),
  };
}

function swatch(k) {
  const c = h('canvas', { width: 16, height: 16, 'aria-hidden': 'true' });
  const g = c.getContext('2d');
  g.fillStyle = COLORS[k]; g.fillRect(1, 1, 14, 14);
  g.lineWidth = 1.6;
  if (k === 'h') { g.fillStyle = '#5a3d00'; g.beginPath(); g.arc(8, 8, 2.5, 0, 7); g.fill(); }
  if (k === 's') { g.strokeStyle = '#7a7a7a'; g.beginPath(); g.moveTo(4, 4); g.lineTo(12, 12); g.moveTo(12, 4); g.lineTo(4, 12); g.stroke(); }
  if (k === 'r') { g.strokeStyle = '#9a9a9a'; g.strokeRect(3, 3, 10, 10); }
  if (k === 'x') { g.strokeStyle = '#fff'; g.beginPath(); g.arc(8, 8, 3.5, 0, 7); g.stroke(); }
  if (k === 'sel') { g.strokeStyle = '#00382a'; g.strokeRect(1.5, 1.5, 13, 13); }
  if (k === 'acc') { g.fillStyle = '#fff'; g.fillRect(0, 0, 16, 16); g.fillStyle = COLORS.a; g.fillRect(5, 5, 6, 6); g.strokeStyle = COLORS.acc; g.lineWidth = 2; g.beginPath(); g.arc(8, 8, 6, 0, 7); g.stroke(); }
  return c;
}
