// fakestripe.mjs: a stand-in for Stripe.js (https://js.stripe.com/v3/),
// served by page.route in stripe.test.mjs because js.stripe.com cannot be
// reached from the test machine. It is a fake ONLY for that unreachable
// third-party script: the server under test talks to stripe-mock, a real
// Stripe API peer (behind testkit.StripeTestCards). It implements just what
// the checkout page uses, with Stripe's documented shapes:
//   - Stripe(key).elements({mode: 'payment', amount, currency,
//     captureMethod: 'manual', paymentMethodCreation: 'manual', ...}) with
//     update() and submit(), and create('payment') with mount/on/destroy:
//     the Payment Element, here one card number field (no wallets: Apple Pay
//     and Google Pay are not offered by this fake);
//   - createPaymentMethod({elements}), which answers Stripe's test payment
//     method id for a test card number typed into the field (pm_card_visa
//     for 4242…) or Stripe's validation error;
//   - handleNextAction({clientSecret}), which shows a stand-in for the
//     bank's 3-D Secure challenge with Complete and Fail buttons, as
//     Stripe's test cards do, and sends the answer to
//     https://api.stripe.com/fake-3ds/authenticate (the spec forwards it to
//     the proxy's challenge endpoint, as Stripe's servers would record it).
// window.__fakeStripe records the key, the element options, the payment
// methods made and the next actions handled.
export const FAKE_STRIPE_JS = `
(() => {
  const CARDS = {
    '4242424242424242': 'pm_card_visa',
    '4000000000000002': 'pm_card_chargeDeclined',
    '4000000000009995': 'pm_card_chargeDeclinedInsufficientFunds',
    '4000002760003184': 'pm_card_threeDSecure2Required',
  };
  const record = window.__fakeStripe = { keys: [], options: [], paymentMethods: [], nextActions: [] };
  window.Stripe = function Stripe(key) {
    if (!/^pk_/.test(key)) throw new Error('Stripe.js: a publishable key is needed, got ' + key);
    record.keys.push(key);
    let input = null;
    let elements = null;
    const element = {
      handlers: {},
      mount(target) {
        input = document.createElement('input');
        input.setAttribute('aria-label', 'Card number (Stripe)');
        input.addEventListener('input', () => element.handlers.change && element.handlers.change({ elementType: 'payment', empty: !input.value, complete: false }));
        (typeof target === 'string' ? document.querySelector(target) : target).append(input);
      },
      on(event, fn) { element.handlers[event] = fn; },
      destroy() { if (input) input.remove(); input = null; },
    };
    const number = () => (input ? input.value.replace(/\\s+/g, '') : '');
    return {
      elements(options) {
        if (!options || options.mode !== 'payment' || !(options.amount > 0) || !options.currency) {
          throw new Error('fake Stripe.js: elements() wants the deferred-intent options {mode: "payment", amount, currency}');
        }
        record.options.push({ ...options });
        elements = {
          options,
          create(type) {
            if (type !== 'payment') throw new Error('fake Stripe.js: only the payment element');
            return element;
          },
          update(o) { Object.assign(options, o); },
          async submit() {
            if (!CARDS[number()]) return { error: { type: 'validation_error', code: 'incomplete_number', message: 'Your card number is incomplete.' } };
            return {};
          },
        };
        return elements;
      },
      async createPaymentMethod(params) {
        if (!params || params.elements !== elements || !input) throw new Error('fake Stripe.js: createPaymentMethod wants {elements} after elements.submit()');
        const id = CARDS[number()];
        if (!id) return { error: { type: 'validation_error', code: 'incomplete_number', message: 'Your card number is incomplete.' } };
        record.paymentMethods.push(id);
        return { paymentMethod: { id, object: 'payment_method', type: 'card' } };
      },
      handleNextAction({ clientSecret }) {
        const intent = String(clientSecret).split('_secret_')[0];
        record.nextActions.push(intent);
        return new Promise((resolve) => {
          const dialog = document.createElement('dialog');
          dialog.setAttribute('aria-label', '3D Secure 2 Test Page');
          dialog.innerHTML = '<p>3D Secure 2 Test Page</p><button type="button" data-r="complete">Complete</button> <button type="button" data-r="fail">Fail</button>';
          dialog.addEventListener('click', async (e) => {
            const result = e.target.dataset && e.target.dataset.r;
            if (!result) return;
            dialog.remove();
            const res = await fetch('https://api.stripe.com/fake-3ds/authenticate?intent=' + intent + '&result=' + result, { method: 'POST' });
            const pi = await res.json();
            if (result === 'complete') resolve({ paymentIntent: pi });
            else resolve({ error: { type: 'card_error', code: 'payment_intent_authentication_failure',
              message: 'We are unable to authenticate your payment method. Please choose a different payment method and try again.', payment_intent: pi } });
          });
          document.body.append(dialog);
          dialog.showModal();
        });
      },
    };
  };
})();
`;
