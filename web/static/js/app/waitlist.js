// waitlist.js: the waiting list on an event page. A card to join the line
// when the map has nothing left (or best available found nothing), the
// fan's place in line, and the banner of an offer: places that came back,
// held for the fan with a countdown, to check out or decline. The offer
// arrives live as a waitlist_offer frame on the fan's socket; a page
// opened in a browser that joined (remembered in localStorage, so a fan
// never on the list costs no 404) reads the entry at once, so an offer
// made while the fan was away shows too.
import { get, post, del } from './api.js';
import { h, countdown } from './format.js';

export function waitlist({ eventId, ev, layout, cap, ctx }) {
  const path = `/api/events/${eventId}/waitlist`;
  const places = (n) => `${n} place${n === 1 ? '' : 's'}`;
  const banner = h('section', { class: 'card offer', hidden: true, 'aria-live': 'polite', 'aria-label': 'Your offer' });
  const status = h('p', { 'data-testid': 'waitlist-status' });
  const note = h('p', { class: 'error', role: 'alert' });
  const qty = h('select', { name: 'waitlist_quantity', 'aria-label': 'Places wanted' },
    ...Array.from({ length: cap }, (_, i) => h('option', { value: i + 1 }, i + 1)));
  const section = h('select', { name: 'waitlist_section', 'aria-label': 'Waiting for section' }, h('option', { value: '' }, 'Any section'),
    ...layout.sections.map((s) => h('option', { value: s.id }, s.name)));
  const join = h('button', { type: 'submit' }, 'Join the waiting list');
  const leave = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Leave the waiting list');
  const form = h('form', { class: 'stack', onsubmit: onJoin }, h('label', {}, 'Places', qty), h('label', {}, 'Section', section), join);
  const card = h('section', { class: 'card stack', hidden: true, 'aria-label': 'Waiting list' }, h('h2', {}, 'Waiting list'),
    h('p', { class: 'muted' }, 'Sold out? Join the line. Places that come back go to the fans in line, in turn, and are held for each for a few minutes.'),
    form, status, leave, note);
  let soldOut = ev.status === 'sold_out';
  let entry = null;
  let stopClock = null;

  function show(e) {
    entry = e;
    if (stopClock) { stopClock(); stopClock = null; }
    const waiting = e?.status === 'waiting';
    const offered = e?.status === 'offered' && e.offer && new Date(e.offer.expires_at) > Date.now();
    form.hidden = waiting || offered;
    leave.hidden = !waiting;
    status.textContent = waiting ? `You are number ${e.position} in line for ${places(e.quantity)}.`
      : e?.status === 'lapsed' ? 'Your last offer has passed to the next fan. You can join again.' : '';
    banner.hidden = !offered;
    placeCard();
    if (!offered) return;
    const clock = h('span', { class: 'countdown', 'data-testid': 'offer-countdown' });
    const take = h('button', { type: 'button' }, 'Check out');
    const pass = h('button', { type: 'button', class: 'secondary' }, 'Decline');
    take.addEventListener('click', () => ctx.navigate(`/checkout/${e.offer.hold_id}`));
    pass.addEventListener('click', async () => {
      pass.disabled = true;
      await del(path).catch(() => {});
      refresh();
    });
    banner.replaceChildren(h('h2', {}, 'Places are held for you'),
      h('p', {}, `${places(e.offer.seats)} came back and ${e.offer.seats === 1 ? 'is' : 'are'} yours to take for `, clock,
        '. Check out to buy, or decline to pass them to the next fan in line.'),
      h('p', { class: 'actions' }, take, ' ', pass));
    stopClock = countdown(clock, e.offer.expires_at, () => refresh());
  }

  // placeCard shows the card while the map is sold out or the fan is in
  // line, and never beside an open offer.
  function placeCard() {
    card.hidden = !banner.hidden || !(soldOut || entry?.status === 'waiting');
  }

  const joinedKey = `waitlist:${eventId}`;
  async function refresh() {
    if (!ctx.account) { show(null); return; }
    try {
      show(await get(path));
      localStorage.setItem(joinedKey, '1');
    } catch (err) {
      show(null);
      if (err.status === 404) localStorage.removeItem(joinedKey);
      else note.textContent = err.message;
    }
  }

  async function onJoin(e) {
    e.preventDefault();
    if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`); return; }
    note.textContent = '';
    join.disabled = true;
    const body = { quantity: Number(qty.value) };
    if (section.value) body.section = section.value;
    try {
      show(await post(path, body));
      localStorage.setItem(joinedKey, '1');
    } catch (err) {
      note.textContent = err.code === 'not_sold_out' ? 'Places like these are still on sale: hold them on the map instead.' : err.message;
    } finally {
      join.disabled = false;
    }
  }

  leave.addEventListener('click', async () => {
    leave.disabled = true;
    try {
      await del(path);
      localStorage.removeItem(joinedKey);
      show(null);
    } catch (err) {
      note.textContent = err.message;
    } finally {
      leave.disabled = false;
    }
  });

  if (localStorage.getItem(joinedKey)) refresh();
  return {
    card,
    banner,
    // setSoldOut shows the card while the map has nothing left to hold.
    setSoldOut(v) {
      soldOut = v || ev.status === 'sold_out';
      placeCard();
    },
    // onFrame takes the frames of the fan's own socket topic.
    onFrame(f) {
      if (f.type === 'waitlist_offer' && String(f.event_id) === String(eventId)) refresh();
    },
    stop() { if (stopClock) stopClock(); },
  };
}
