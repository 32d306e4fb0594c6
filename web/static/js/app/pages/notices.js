// notices.js: what fans reach from the mails about their events, and the
// admin's side of it. /events/{id}/refund-choice#token=... is the refund
// a holder may take instead of a new date; /unsubscribe#token=... stops
// reminders; the account page's reminders switch; the admin event page's
// "Postpone / move" card with how many fans a change or a cancel mails.
// Tokens come in the fragment, which no server logs, and are posted.
import { api, get, post } from '../api.js';
import { h, money, dateTime, toast } from '../format.js';

const tokenOfLink = () => new URLSearchParams(location.hash.slice(1)).get('token') || '';

// refundChoice is /events/{id}/refund-choice: the change, the tickets and
// their price, and one button that refunds them.
export async function refundChoice(main, [id]) {
  main.append(h('h1', {}, 'Your event has moved'));
  const token = tokenOfLink();
  const status = h('p', { role: 'status' });
  main.append(status);
  let offer;
  try {
    offer = await post(`/api/events/${id}/refund-offer`, { token });
  } catch (e) {
    status.className = 'error';
    status.textContent = e.message;
    return;
  }
  const tz = offer.time_zone;
  const card = h('section', { class: 'card stack' },
    h('h2', {}, offer.event_name),
    h('p', {}, 'Was: ', h('s', {}, dateTime(offer.old_date, tz))),
    h('p', {}, 'Now: ', h('strong', { 'data-testid': 'new-date' }, dateTime(offer.event_date, tz))),
    offer.place ? h('p', {}, `Where: ${offer.place}`) : '',
    offer.reason ? h('p', { class: 'muted' }, `Why: ${offer.reason}`) : '');
  main.append(card);
  const show = (o) => {
    if (o.status === 'refunded') {
      status.textContent = `Refunded: ${money(o.amount_cents, o.currency)} goes back to the card that paid. Your tickets no longer admit.`;
    } else if (o.status === 'closed') {
      status.className = 'error';
      status.textContent = 'The time to ask for a refund is over; your tickets are valid on the new date.';
    }
  };
  if (offer.status !== 'open') { show(offer); return; }
  if (!offer.tickets) { status.textContent = 'You hold no ticket of this event that can be refunded.'; return; }
  const keep = h('p', {}, 'Keep your tickets: nothing to do, they admit on the new date.');
  const button = h('button', { type: 'button', class: 'danger' },
    `Refund my ${offer.tickets} ticket(s): ${money(offer.amount_cents, offer.currency)}`);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const done = await post(`/api/events/${id}/refund-offer/accept`, { token });
      history.replaceState({}, '', location.pathname); // the link is spent
      button.remove();
      keep.remove();
      show(done);
    } catch (e) {
      button.disabled = false;
      status.className = 'error';
      status.textContent = e.message;
    }
  });
  card.append(keep, h('p', {}, `Or, until ${dateTime(offer.refund_until, tz)}:`), button);
}

// unsubscribe is /unsubscribe: one click stops the reminders.
export async function unsubscribe(main) {
  main.append(h('h1', {}, 'Stop reminders'));
  const token = tokenOfLink();
  const status = h('p', { role: 'status' });
  const button = h('button', { type: 'button' }, 'Stop sending me reminders');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await post('/api/unsubscribe', { token });
      history.replaceState({}, '', location.pathname);
      button.remove();
      status.textContent = 'Done: no more reminders. Mails about your tickets (a cancellation, a new date, a refund) still come. You can turn reminders back on in your account.';
    } catch (e) {
      button.disabled = false;
      status.className = 'error';
      status.textContent = e.message;
    }
  });
  main.append(h('p', {}, 'Reminders are the mails the day before a show and when a sale you wait for opens.'), button, status);
}

// remindersSection is the account page's switch for reminders.
export async function remindersSection(main) {
  const box = h('input', { type: 'checkbox', id: 'reminders-on' });
  const msg = h('p', { role: 'status', class: 'muted' });
  const card = h('section', { class: 'card stack' }, h('h2', {}, 'Reminders'),
    h('label', {}, box, ' Mail me the day before a show and when a sale I wait for opens'), msg);
  main.append(card);
  try { box.checked = (await get('/api/account/reminders')).reminders; } catch (e) { msg.textContent = e.message; }
  box.addEventListener('change', async () => {
    try {
      const r = await api('PUT', '/api/account/reminders', { reminders: box.checked });
      msg.textContent = r.reminders ? 'Reminders are on.' : 'Reminders are off.';
    } catch (e) { box.checked = !box.checked; msg.textContent = e.message; }
  });
}

// noticesCard is the admin event page's "Postpone / move": the new date,
// place and reason, mailed to every holder with a refund link; it says
// beforehand how many fans a reschedule and a cancel would mail.
export function noticesCard(id) {
  const counts = h('p', { 'data-testid': 'notice-counts' }, 'Counting ticket holders…');
  const past = h('ul', { class: 'muted' });
  const load = async () => {
    try {
      const n = await get(`/api/admin/events/${id}/notices`);
      counts.textContent = `A new date is mailed to ${n.holders} ticket holder(s); cancelling mails ${n.cancel_recipients} fan(s) their refund.`;
      past.replaceChildren(...n.reschedules.map((r) => h('li', {},
        `${dateTime(r.old_date)} → ${dateTime(r.event_date)}${r.place ? `, ${r.place}` : ''} (refunds until ${dateTime(r.refund_until)})`)));
    } catch (e) { counts.textContent = e.message; }
  };
  const date = h('input', { type: 'datetime-local', id: 'reschedule-date', required: true });
  const until = h('input', { type: 'datetime-local', id: 'reschedule-until' });
  const place = h('input', { id: 'reschedule-place', maxlength: 300, placeholder: 'same place' });
  const reason = h('input', { id: 'reschedule-reason', maxlength: 1000 });
  const form = h('form', { class: 'row', onsubmit: async (e) => {
    e.preventDefault();
    const body = { event_date: new Date(date.value).toISOString(), place: place.value, reason: reason.value };
    if (until.value) body.refund_until = new Date(until.value).toISOString();
    try {
      const r = await post(`/api/admin/events/${id}/reschedule`, body);
      toast(`Postponed: ${r.notified} holder(s) mailed`);
      await load();
    } catch (err) { toast(`Postpone: ${err.message}`); }
  } },
  h('label', { for: 'reschedule-date' }, 'New date'), date,
  h('label', { for: 'reschedule-place' }, 'Place or doors'), place,
  h('label', { for: 'reschedule-reason' }, 'Reason'), reason,
  h('label', { for: 'reschedule-until' }, 'Refunds until (empty: 14 days)'), until,
  h('button', { type: 'submit' }, 'Postpone / move'));
  load();
  return h('section', { class: 'card' }, h('h2', {}, 'Postpone / move'), counts, form, past);
}
