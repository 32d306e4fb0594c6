// Checkout: the held seats, the countdown, and payment. In test mode a card
// form with Stripe's documented test numbers; with Stripe configured
// (GET /api/payments/config), Stripe's Payment Element collects the card (or
// Apple Pay / Google Pay where the browser offers them) and only the payment
// method id it makes reaches the server, which confirms with manual capture.
// A decline keeps the seats for a short retry window (the page counts it
// down) so the fan can correct the card or use another; giving up releases
// them at once. A card asking for 3-D Secure is completed in the page
// (Stripe.js handleNextAction) or, in test mode, on the app's own challenge
// page, while the seats stay held.
import { get, post, del } from '../api.js';
import { h, money, countdown, seatLabel } from '../format.js';

const TEST_CARDS = [
  ['4242 4242 4242 4242', 'succeeds'],
  ['4000 0000 0000 0002', 'is declined'],
  ['4000 0000 0000 9995', 'has insufficient funds'],
  ['4000 0027 6000 3184', 'asks for 3-D Secure (complete or fail the challenge)'],
];

// STRIPE_JS must be loaded from Stripe itself (never bundled or
// self-hosted), and only when a Stripe checkout needs it: test mode and
// every other page never contact js.stripe.com.
const STRIPE_JS = 'https://js.stripe.com/v3/';

// Decline codes that deserve more than "declined" (Stripe's codes).
const DECLINE_REASONS = {
  insufficient_funds: 'insufficient funds',
  payment_intent_authentication_failure: 'the card could not be verified',
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
  // Prices: the event's price list (every seat price under every price
  // type, with its breakdown) prices the choice live; once paying started
  // the hold's own lines are fixed and shown as they are.
  let event = { price_types: [], prices: [] };
  try { event = await get(`/api/events/${hold.event_id}`); } catch { /* the hold's lines still show */ }
  const fixed = hold.status !== 'active' || !!hold.listing_id;
  const types = fixed ? [] : (event.price_types || []);
  const chosen = new Map(hold.price_lines.map((l) => [l.seat_id, l.price_type]));
  const lineOf = (seat) => {
    if (fixed) return hold.price_lines.find((l) => l.seat_id === seat.id);
    const p = (event.prices || []).find((x) => x.price_cents === seat.price_cents && x.price_type === chosen.get(seat.id));
    return p ? p.price_breakdown : hold.price_lines.find((l) => l.seat_id === seat.id);
  };
  const totalOf = () => hold.seats.reduce((sum, seat) => sum + lineOf(seat).total_cents, 0);

  const clock = h('span', { class: 'countdown', 'aria-live': 'off' });
  const msg = h('p', { role: 'alert' });
  const payArea = h('div', {});
  const totalEl = h('strong', { class: 'checkout-total' });
  const orderBreakdown = h('dl', { class: 'breakdown' });
  let payLabel = null; // the pay button, relabelled with the total
  let stopClock = () => {};
  let cardElement = null; // Stripe's Payment Element, destroyed on leaving
  let stripeElements = null; // its Elements group, told the total
  let stripe = null;
  let paymentId = null; // the hold's payment, once paying started
  let stopRetryClock = () => {};
  const retryNote = h('p', { class: 'error', role: 'status' });

  // breakdownList shows what a price is made of: face value, fees, tax.
  function breakdownList(b, el = h('dl', { class: 'breakdown' })) {
    const row = (label, cents) => [h('dt', {}, label), h('dd', {}, money(cents, hold.currency))];
    el.replaceChildren(
      ...row('Ticket', b.face_cents),
      ...(b.service_fee_cents ? row('Service fee', b.service_fee_cents) : []),
      ...(b.facility_fee_cents ? row('Facility fee', b.facility_fee_cents) : []),
      ...(b.tax_cents ? row(b.tax_included ? 'Tax (included in the ticket)' : 'Tax', b.tax_cents) : []),
      ...row('Total', b.total_cents));
    return el;
  }

  const rows = hold.seats.map((seat) => {
    const price = h('span', { class: 'price' });
    const details = h('dl', { class: 'breakdown' });
    const paint = () => {
      const b = lineOf(seat);
      price.textContent = money(b.total_cents, hold.currency);
      breakdownList(b, details);
    };
    paint();
    let typeCell = hold.listing_id ? `${seat.type} · resale` : seat.type;
    if (types.length > 1) {
      const select = h('select', { name: `price_type_${seat.id}`, 'aria-label': `Ticket type for seat ${seat.number}` },
        ...types.map((t) => h('option', { value: t.key, selected: chosen.get(seat.id) === t.key },
          t.condition ? `${t.name} (${t.condition})` : t.name)));
      select.addEventListener('change', () => { chosen.set(seat.id, select.value); paint(); paintTotal(); });
      typeCell = h('span', {}, `${seat.type} · `, select);
    } else if (fixed && !hold.listing_id) {
      const key = lineOf(seat).price_type;
      const t = (event.price_types || []).find((x) => x.key === key);
      if (t) typeCell = `${seat.type} · ${t.name}`;
    }
    return h('tr', {}, h('td', {}, seatLabel(seat)), h('td', {}, typeCell),
      h('td', {}, h('details', { class: 'price-details' }, h('summary', {}, price), details)));
  });

  function paintTotal() {
    const total = totalOf();
    totalEl.textContent = `Total ${money(total, hold.currency)}`;
    totalEl.dataset.cents = String(total);
    const sum = { face_cents: 0, service_fee_cents: 0, facility_fee_cents: 0, tax_cents: 0, total_cents: 0, tax_included: false };
    for (const seat of hold.seats) {
      const b = lineOf(seat);
      for (const k of ['face_cents', 'service_fee_cents', 'facility_fee_cents', 'tax_cents', 'total_cents']) sum[k] += b[k];
      sum.tax_included ||= b.tax_included;
    }
    breakdownList(sum, orderBreakdown);
    if (payLabel) payLabel.textContent = `Pay ${money(total, hold.currency)}`;
    stripeElements?.update({ amount: total });
  }
  paintTotal();

  const conditions = types.filter((t) => t.condition);
  main.append(
    h('h1', {}, 'Checkout'),
    h('div', { class: 'layout-event' },
      h('section', { class: 'card' },
        h('h2', {}, 'Your seats'),
        h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Seat'), h('th', {}, 'Type'), h('th', {}, 'Price (all-in)'))),
          h('tbody', {}, ...rows)),
        conditions.length ? h('p', { class: 'muted' }, conditions.map((t) => `${t.name}: ${t.condition}.`).join(' ')) : null,
        h('p', {}, totalEl),
        h('details', { class: 'price-details' }, h('summary', {}, 'What the total is made of'), orderBreakdown)),
      h('aside', { class: 'panel' }, h('div', { class: 'card' },
        h('p', {}, 'Seats held for ', clock), retryNote, payArea, msg))));

  if (hold.status === 'active' || hold.status === 'payment_pending') {
    stopClock = countdown(clock, hold.expires_at, () => {
      if (hold.status === 'active') expired();
    });
    showPay().then(resume).catch((e) => { msg.className = 'error'; msg.textContent = e.message; });
  } else {
    clock.textContent = '—';
    msg.textContent = hold.status === 'converted' ? 'This hold is already paid.' : `This hold is ${hold.status}.`;
    payArea.append(h('a', { href: `/events/${hold.event_id}`, 'data-link': true, class: 'button secondary' }, 'Back to the seat map'));
  }

  // resume picks a started payment up where it stands (back from the test
  // challenge page, or a reload): waiting for another card after a decline,
  // or for the card's authentication.
  async function resume() {
    if (hold.status !== 'payment_pending') return;
    const { payment } = await post(`/api/holds/${holdId}/checkout`);
    paymentId = payment.id;
    if (payment.status === 'requires_payment_method' && payment.retry_until) {
      retryWindow({ decline_code: payment.decline_code, retry_until: payment.retry_until });
    } else if (payment.status === 'requires_action') {
      msg.className = '';
      msg.textContent = 'Your card asked to be verified. Finish the verification to pay; your seats stay held meanwhile.';
      payArea.prepend(h('button', { type: 'button', onclick: () => authenticate(payment.id, { client_secret: payment.client_secret }) },
        'Verify the card'));
    }
  }

  function expired() {
    stopRetryClock();
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
    const payBtn = h('button', { type: 'submit' }, `Pay ${money(totalOf(), hold.currency)}`);
    payLabel = payBtn;
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

  // showStripePay mounts Stripe's Payment Element (deferred intent: the
  // amount and currency, manual capture, payment methods made here). It
  // offers the card, and Apple Pay or Google Pay where the browser has them;
  // Stripe.js turns the choice into a payment method id and the server
  // confirms the payment intent with it, exactly as in test mode.
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
    stripe = Stripe(publishableKey);
    stripeElements = stripe.elements({ mode: 'payment', amount: totalOf(), currency: hold.currency.toLowerCase(),
      captureMethod: 'manual', paymentMethodCreation: 'manual', paymentMethodTypes: ['card'] });
    cardElement = stripeElements.create('payment', { fields: { billingDetails: { address: 'never' } } });
    const cardBox = h('div', { class: 'card-element' });
    const cardError = h('p', { class: 'error', role: 'alert' });
    cardElement.on('change', (ev) => { cardError.textContent = ev.error ? ev.error.message : ''; });
    const payBtn = h('button', { type: 'submit' }, `Pay ${money(totalOf(), hold.currency)}`);
    payLabel = payBtn;
    const form = h('form', { class: 'stack' },
      h('div', {}, h('span', {}, 'Card'), cardBox), cardError, payBtn,
      publishableKey.startsWith('pk_test_')
        ? testCards('Test cards (Stripe test mode)', TEST_CARDS)
        : null,
      releaseButton());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      cardError.textContent = '';
      await pay(payBtn, 'stripe', async () => {
        const submitted = await stripeElements.submit();
        const { paymentMethod, error } = submitted.error ? submitted : await stripe.createPaymentMethod({ elements: stripeElements });
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
      const tickets = types.length > 1 ? hold.seats.map((seat) => ({ seat_id: seat.id, price_type: chosen.get(seat.id) })) : undefined;
      const { payment } = await post(`/api/holds/${holdId}/checkout`, tickets ? { tickets } : undefined);
      paymentId = payment.id;
      // Paying started: the server's payment deadline, not the clock's
      // zero, now ends the hold (a card being verified has until then).
      hold.status = 'payment_pending';
      if (payment.amount_cents !== totalOf()) {
        // The event's fees changed since this page priced the seats: the
        // fan pays only a total they were shown.
        msg.className = 'error';
        msg.textContent = `The price changed to ${money(payment.amount_cents, hold.currency)}. Reload the page to see it, then pay.`;
        return;
      }
      if (payment.provider !== provider) {
        msg.className = 'error';
        msg.textContent = 'The payment settings changed. Reload the page to pay.';
        return;
      }
      await outcome(payment.id, await post(`/api/payments/${payment.id}/confirm`, body));
    } catch (e2) {
      failed(e2);
    } finally {
      payBtn.disabled = false;
    }
  }

  // outcome shows what a confirmation (or a completed authentication) led
  // to: the order, a wait for the provider, a card to verify, or a decline.
  async function outcome(id, res) {
    if (res.order_id) {
      stopClock();
      stopRetryClock();
      ctx.navigate(`/orders/${res.order_id}`);
      return;
    }
    if (res.status === 'processing') {
      stopClock();
      stopRetryClock();
      msg.className = '';
      msg.textContent = 'The payment provider has not answered yet. The payment will be checked and settled: see My orders in a few minutes.';
      payArea.replaceChildren(h('a', { href: '/orders', 'data-link': true, class: 'button' }, 'My orders'));
      return;
    }
    if (res.status === 'requires_action') return authenticate(id, res);
    if (res.retry_until) return retryWindow(res);
    declined(DECLINE_REASONS[res.decline_code]);
  }

  function failed(e2) {
    if (e2.code === 'hold_expired' || e2.status === 410) return expired();
    if (e2.code === 'hold_lost') return released('Your hold ran out before the payment was finished, and the seats went back on sale. You have not been charged.');
    if (e2.status === 402 || /declin|insufficient/.test(e2.code)) return declined(e2.message);
    msg.className = 'error';
    msg.textContent = e2.message;
  }

  // authenticate completes a card's 3-D Secure step while the seats stay
  // held: Stripe.js shows the bank's challenge in the page, then the server
  // is asked for the outcome; in test mode the app's own challenge page
  // plays the bank.
  async function authenticate(id, res) {
    msg.className = '';
    msg.textContent = 'Your bank asks you to verify this payment…';
    if (!stripe) {
      ctx.navigate(res.next_action?.redirect_url || `/payments/${id}/challenge`);
      return;
    }
    try {
      // An error here (verification failed or closed) is told by the
      // server's answer below, which also says whether the seats wait.
      await stripe.handleNextAction({ clientSecret: res.client_secret });
      await outcome(id, await post(`/api/payments/${id}/complete`));
    } catch (e2) {
      failed(e2);
    }
  }

  // retryWindow keeps the form for another attempt after a decline and
  // counts down the time the seats stay held for it.
  function retryWindow(res) {
    stopRetryClock();
    const reason = DECLINE_REASONS[res.decline_code];
    const left = h('strong', { class: 'countdown' });
    msg.textContent = '';
    retryNote.replaceChildren(`Payment declined${reason ? ` (${reason})` : ''}. Your seats stay held for `, left,
      ' so you can correct the card or use another one.');
    stopRetryClock = countdown(left, res.retry_until, () => {
      stopRetryClock();
      released('The time to try another card ran out and your seats were released so others can buy them. You have not been charged.');
    });
  }

  // dropCard destroys Stripe's Payment Element (its iframe and listeners)
  // once the form that showed it is gone.
  function dropCard() {
    cardElement?.destroy();
    cardElement = null;
    stripeElements = null;
  }

  function testCards(title, cards) {
    return h('details', {}, h('summary', {}, title), h('ul', {}, ...cards.map(([n, what]) => h('li', {}, h('code', {}, n), ` ${what}`))));
  }

  function releaseButton() {
    return h('button', { type: 'button', class: 'secondary', onclick: release }, 'Release the seats');
  }

  function declined(reason) {
    released(`Payment declined${reason ? ` (${reason})` : ''}. Your seats were released so others can buy them.`);
  }

  // released ends the page's payment: the seats are gone (declined for
  // good, the retry window over, the hold lost); it offers to hold them again.
  function released(text) {
    stopClock();
    stopRetryClock();
    clock.textContent = '—';
    retryNote.replaceChildren();
    msg.className = 'error';
    msg.textContent = text;
    dropCard();
    payArea.replaceChildren(retryButton());
  }

  // release gives the seats up: a hold not yet paying is released, a
  // started payment abandoned (its seats released, its intent cancelled).
  async function release() {
    try {
      if (paymentId) await post(`/api/payments/${paymentId}/abandon`);
      else await del(`/api/holds/${holdId}`);
    } catch { /* already gone */ }
    stopClock();
    stopRetryClock();
    ctx.navigate(`/events/${hold.event_id}`);
  }

  return () => { stopClock(); stopRetryClock(); dropCard(); };
}
