// fakestripe.mjs: a stand-in for Stripe.js (https://js.stripe.com/v3/),
// served by page.route in stripe.test.mjs because js.stripe.com cannot be
// reached from the test machine. It is a fake ONLY for that unreachable
// third-party script: the server under test talks to stripe-mock, a real
// Stripe API peer. It implements just what the checkout page uses:
// Stripe(key).elements().create('card') with mount/on/destroy, and
// createPaymentMethod({type: 'card', card}), which answers Stripe's test
// payment method id for a test card number typed into the mounted field
// (pm_card_visa for 4242…, as Stripe test mode would make one) or Stripe's
// validation error for anything else. window.__fakeStripe records the key
// the page used and the payment methods made.
export const FAKE_STRIPE_JS = `
(() => {
  const CARDS = {
    '4242424242424242': 'pm_card_visa',
    '4000000000000002': 'pm_card_chargeDeclined',
    '4000000000009995': 'pm_card_chargeDeclinedInsufficientFunds',
    '4000002760003184': 'pm_card_threeDSecure2Required',
  };
  const record = window.__fakeStripe = { keys: [], paymentMethods: [] };
  window.Stripe = function Stripe(key) {
    if (!/^pk_/.test(key)) throw new Error('Stripe.js: a publishable key is needed, got ' + key);
    record.keys.push(key);
    let input = null;
    const card = {
      handlers: {},
      mount(target) {
        input = document.createElement('input');
        input.setAttribute('aria-label', 'Card number (Stripe)');
        input.addEventListener('input', () => card.handlers.change && card.handlers.change({ elementType: 'card', empty: !input.value, error: undefined }));
        (typeof target === 'string' ? document.querySelector(target) : target).append(input);
      },
      on(event, fn) { card.handlers[event] = fn; },
      destroy() { if (input) input.remove(); input = null; },
    };
    return {
      elements: () => ({
        create(type) {
          if (type !== 'card') throw new Error('fake Stripe.js: only the card element');
          return card;
        },
      }),
      async createPaymentMethod(params) {
        if (params.type !== 'card' || params.card !== card || !input) throw new Error('fake Stripe.js: createPaymentMethod wants {type: "card", card: <the mounted element>}');
        const id = CARDS[input.value.replace(/\\s+/g, '')];
        if (!id) return { error: { type: 'validation_error', code: 'incomplete_number', message: 'Your card number is incomplete.' } };
        record.paymentMethods.push(id);
        return { paymentMethod: { id, object: 'payment_method', type: 'card' } };
      },
    };
  };
})();
`;
