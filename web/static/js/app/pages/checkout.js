// Checkout: the held seats, the countdown, and payment. In test mode a card
// form with Stripe's documented test numbers; with Stripe configured
// (GET /api/payments/config), Stripe.js Elements collects the card and only
// the payment method id it makes reaches the server. A decline releases the
// seats at once (server side) and offers to hold them again if still free.
import { get, post, del } from '../api.js';
import { h, money, countdown, seatLabel } from '../format.js';

const TEST_CARDS = [
  ['4242 4242 4242 4242', 'succeeds'],
  ['4000 0000 0000 0002', 'is declined'],
  ['4000 0000 0000 9995', 'has insufficient funds'],
];

// STRIPE_JS must be loaded from Stripe itself (never bundled or
// self-hosted), and only when a Stripe checkout needs it: test mode and
// every other page never contact js.stripe.com.
const STRIPE_JS = 'https://js.stripe.com/v3/';

// Decline codes that deserve more than "declined" (Stripe's codes).
const DECLINE_REASONS = {
  insufficient_funds: 'insufficient funds',
  authentication_required: 'this card asks for 3-D Secure verification, which Boxoffice does not support yet; try another card',
};

let stripeJs = null;

// loadStripeJs injects Stripe.js once and resolves to window.Stripe; a
// failed load is forgotten so a later checkout tries again.
function loadStripeJs() {
  stripeJs ??= new Promise((resolve, reject) => {
    if (window.Stripe) { resolve(window.Stripe); return; }
    const script = h('script', { src: STRIPE_JS, async: true });
    script.addEventListener('load', () => (window.Stripe ? resolve(window.Stripe) : reject(new Error('Stripe.js did not start'))));
    script.addEventListener('error', () => { script.remove(); reject(new Error('Stripe.js did not load')); });
    document.head.append(script);
  }).catch((err) => { stripeJs = null; throw err; });
  return stripeJs;
}

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
  let cardElement = null; // Stripe's card element, destroyed on leaving

  main.append(
    h('h1', {}, 'Checkout'),
    h('div', { class: 'layout-event' },
      h('section', { class: 'card' },
        h('h2', {}, 'Your seats'),
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Seat'), h('th', {}, 'Type'), h('th', {}, 'Price'))),
          h('tbody', {}, ...hold.seats.map((s) => h('tr', {}, h('td', {}, seatLabel(s)),
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
    showPay().catch((e) => { msg.className = 'error'; msg.textContent = e.message; });
  } else {
    clock.textContent = '—';
    msg.textContent = hold.status === 'converted' ? 'This hold is already paid.' : `This hold is ${hold.status}.`;
    payArea.append(h('a', { href: `/events/${hold.event_id}`, 'data-link': true, class: 'button secondary' }, 'Back to the seat map'));
  }

  function expired() {
    dropCard();
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

  async function showPay() {
    const config = await get('/api/payments/config');
    if (config.provider === 'stripe') return showStripePay(config.publishable_key);
    if (config.provider !== 'test') {
      msg.className = 'error';
      msg.textContent = 'Card payments are not available on this page.';
      return;
    }
    const card = h('input', { name: 'card_number', inputmode: 'numeric', autocomplete: 'cc-number', placeholder: '4242 4242 4242 4242', required: true });
    const payBtn = h('button', { type: 'submit' }, `Pay ${money(hold.total_cents, hold.currency)}`);
    const form = h('form', { class: 'stack' },
      h('label', {}, 'Card number', card), payBtn,
      testCards('Test cards (test mode)', TEST_CARDS),
      releaseButton());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const number = card.value.replace(/\s+/g, '');
      card.value = '';
      await pay(payBtn, 'test', async () => ({ card_number: number }));
    });
    payArea.replaceChildren(form);
  }

  // showStripePay mounts Stripe's card element. Stripe.js turns the card
  // into a payment method id in the browser; the server confirms the
  // payment intent with it (manual capture) exactly as it does in test mode.
  async function showStripePay(publishableKey) {
    payArea.replaceChildren(h('p', { class: 'muted' }, 'Loading the card form…'));
    let Stripe;
    try {
      Stripe = await loadStripeJs();
    } catch {
      msg.className = 'error';
      msg.textContent = 'The card form could not be loaded from Stripe (js.stripe.com). Check your connection, or turn off a blocker for js.stripe.com, and reload the page. Your seats stay held until the timer runs out.';
      payArea.replaceChildren(h('div', { class: 'stack' }, h('button', { type: 'button', onclick: () => location.reload() }, 'Reload'), releaseButton()));
      return;
    }
    const stripe = Stripe(publishableKey);
    cardElement = stripe.elements().create('card', { hidePostalCode: true });
    const cardBox = h('div', { class: 'card-element' });
    const cardError = h('p', { class: 'error', role: 'alert' });
    cardElement.on('change', (ev) => { cardError.textContent = ev.error ? ev.error.message : ''; });
    const payBtn = h('button', { type: 'submit' }, `Pay ${money(hold.total_cents, hold.currency)}`);
    const form = h('form', { class: 'stack' },
      h('div', {}, h('span', {}, 'Card'), cardBox), cardError, payBtn,
      publishableKey.startsWith('pk_test_')
        ? testCards('Test cards (Stripe test mode)', [...TEST_CARDS, ['4000 0027 6000 3184', 'asks for 3-D Secure (not supported yet)']])
        : null,
      releaseButton());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      cardError.textContent = '';
      await pay(payBtn, 'stripe', async () => {
        const { paymentMethod, error } = await stripe.createPaymentMethod({ type: 'card', card: cardElement });
        if (error) {
          // Nothing was charged or sent to Boxoffice: the seats stay held.
          cardError.textContent = error.message;
          return null;
        }
        return { payment_method: paymentMethod.id };
      });
    });
    payArea.replaceChildren(form);
    cardElement.mount(cardBox);
  }

  // pay starts the hold's payment and confirms it with the body method()
  // gives (null: stop, method() said why), then shows the outcome.
  async function pay(payBtn, provider, method) {
    payBtn.disabled = true;
    msg.className = ''; msg.textContent = 'Paying…';
    try {
      const body = await method();
      if (!body) { msg.textContent = ''; return; }
      const { payment } = await post(`/api/holds/${holdId}/checkout`);
      if (payment.provider !== provider) {
        msg.className = 'error';
        msg.textContent = 'The payment settings changed. Reload the page to pay.';
        return;
      }
      const res = await post(`/api/payments/${payment.id}/confirm`, body);
      if (res.order_id) {
        stopClock();
        ctx.navigate(`/orders/${res.order_id}`);
        return;
      }
      if (res.status === 'processing') {
        stopClock();
        msg.textContent = 'The payment provider has not answered yet. The payment will be checked and settled: see My orders in a few minutes.';
        payArea.replaceChildren(h('a', { href: '/orders', 'data-link': true, class: 'button' }, 'My orders'));
        return;
      }
      declined(DECLINE_REASONS[res.decline_code]);
    } catch (e2) {
      if (e2.code === 'hold_expired' || e2.status === 410) return expired();
      if (e2.status === 402 || /declin|insufficient/.test(e2.code)) return declined(e2.message);
      msg.className = 'error';
      msg.textContent = e2.message;
    } finally {
      payBtn.disabled = false;
    }
  }

  // dropCard destroys Stripe's card element (its iframe and listeners)
  // once the form that showed it is gone.
  function dropCard() {
    cardElement?.destroy();
    cardElement = null;
  }

  function testCards(title, cards) {
    return h('details', {}, h('summary', {}, title), h('ul', {}, ...cards.map(([n, what]) => h('li', {}, h('code', {}, n), ` ${what}`))));
  }

  function releaseButton() {
    return h('button', { type: 'button', class: 'secondary', onclick: release }, 'Release the seats');
  }

  function declined(reason) {
    stopClock();
    clock.textContent = '—';
    msg.className = 'error';
    msg.textContent = `Payment declined${reason ? ` (${reason})` : ''}. Your seats were released so others can buy them.`;
    dropCard();
    payArea.replaceChildren(retryButton());
  }

  async function release() {
    try { await del(`/api/holds/${holdId}`); } catch { /* already gone */ }
    stopClock();
    ctx.navigate(`/events/${hold.event_id}`);
  }

  return () => { stopClock(); dropCard(); };
}
