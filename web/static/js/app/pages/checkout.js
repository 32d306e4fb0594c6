// Checkout: the held seats, the countdown, and payment. In test mode a card
// form with Stripe's documented test numbers; a decline releases the seats
// at once (server side) and offers to hold them again if still free.
import { get, post, del } from '../api.js';
import { h, money, countdown } from '../format.js';

const TEST_CARDS = [
  ['4242 4242 4242 4242', 'succeeds'],
  ['4000 0000 0000 0002', 'is declined'],
  ['4000 0000 0000 9995', 'has insufficient funds'],
];

export async function render(main, [holdId], ctx) {
  if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, true); return; }
  let hold;
  try {
    hold = await get(`/api/holds/${holdId}`);
  } catch (err) {
    main.append(h('h1', {}, 'Checkout'), h('p', { class: 'error' }, err.status === 404 ? 'There is no such hold.' : err.message));
    return;
  }
  const clock = h('span', { class: 'countdown', 'aria-live': 'off' });
  const msg = h('p', { role: 'alert' });
  const payArea = h('div', {});
  let stopClock = () => {};

  main.append(
    h('h1', {}, 'Checkout'),
    h('div', { class: 'layout-event' },
      h('section', { class: 'card' },
        h('h2', {}, 'Your seats'),
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Seat'), h('th', {}, 'Type'), h('th', {}, 'Price'))),
          h('tbody', {}, ...hold.seats.map((s) => h('tr', {}, h('td', {}, `${s.section} · Row ${s.row} · Seat ${s.number}`),
            // A resale hold is one seat at the listing's price.
            h('td', {}, hold.listing_id ? `${s.type} · resale` : s.type),
            h('td', {}, money(hold.listing_id ? hold.total_cents : s.price_cents, hold.currency)))))),
        h('p', {}, h('strong', {}, `Total ${money(hold.total_cents, hold.currency)}`))),
      h('aside', { class: 'panel' }, h('div', { class: 'card' },
        h('p', {}, 'Seats held for ', clock), payArea, msg))));

  if (hold.status === 'active' || hold.status === 'payment_pending') {
    stopClock = countdown(clock, hold.expires_at, () => {
      if (hold.status === 'active') expired();
    });
    showPay();
  } else {
    clock.textContent = '—';
    msg.textContent = hold.status === 'converted' ? 'This hold is already paid.' : `This hold is ${hold.status}.`;
    payArea.append(h('a', { href: `/events/${hold.event_id}`, 'data-link': true, class: 'button secondary' }, 'Back to the seat map'));
  }

  function expired() {
    msg.className = 'error';
    msg.textContent = 'Your hold expired and the seats went back on sale.';
    payArea.replaceChildren(retryButton());
  }

  function retryButton() {
    return h('button', { type: 'button', onclick: retry }, 'Try to hold these seats again');
  }

  async function retry() {
    msg.textContent = '';
    try {
      const again = await post(`/api/events/${hold.event_id}/holds`, { seat_ids: hold.seats.map((s) => s.id) });
      ctx.navigate(`/checkout/${again.id}`);
    } catch (e) {
      msg.className = 'error';
      msg.textContent = e.code === 'seat_unavailable' ? 'Those seats are gone now. Pick others on the seat map.' : e.message;
      payArea.replaceChildren(h('a', { href: `/events/${hold.event_id}`, 'data-link': true, class: 'button' }, 'Back to the seat map'));
    }
  }

  function showPay() {
    const card = h('input', { name: 'card_number', inputmode: 'numeric', autocomplete: 'cc-number', placeholder: '4242 4242 4242 4242', required: true });
    const payBtn = h('button', { type: 'submit' }, `Pay ${money(hold.total_cents, hold.currency)}`);
    const form = h('form', { class: 'stack' },
      h('label', {}, 'Card number', card), payBtn,
      h('details', {}, h('summary', {}, 'Test cards (test mode)'), h('ul', {}, ...TEST_CARDS.map(([n, what]) => h('li', {}, h('code', {}, n), ` ${what}`)))),
      h('button', { type: 'button', class: 'secondary', onclick: release }, 'Release the seats'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      payBtn.disabled = true;
      msg.className = ''; msg.textContent = 'Paying…';
      try {
        const { payment } = await post(`/api/holds/${holdId}/checkout`);
        if (payment.provider !== 'test') {
          msg.textContent = 'Card payments through Stripe are not available on this page yet.';
          return;
        }
        const res = await post(`/api/payments/${payment.id}/confirm`, { card_number: card.value.replace(/\s+/g, '') });
        card.value = '';
        if (res.order_id) {
          stopClock();
          ctx.navigate(`/orders/${res.order_id}`);
          return;
        }
        declined(res.status);
      } catch (e2) {
        card.value = '';
        if (e2.code === 'hold_expired' || e2.status === 410) return expired();
        if (e2.status === 402 || /declin|insufficient/.test(e2.code)) return declined(e2.message);
        msg.className = 'error';
        msg.textContent = e2.message;
      } finally {
        payBtn.disabled = false;
      }
    });
    payArea.replaceChildren(form);
  }

  function declined(reason) {
    stopClock();
    clock.textContent = '—';
    msg.className = 'error';
    msg.textContent = `Payment declined${reason ? ` (${reason})` : ''}. Your seats were released so others can buy them.`;
    payArea.replaceChildren(retryButton());
  }

  async function release() {
    try { await del(`/api/holds/${holdId}`); } catch { /* already gone */ }
    stopClock();
    ctx.navigate(`/events/${hold.event_id}`);
  }

  return () => stopClock();
}
