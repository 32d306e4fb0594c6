// The test processor's 3-D Secure challenge: the page a bank would show to
// verify a card, played by the app itself in test mode (PAYMENTS=test) so
// the whole authentication flow runs without Stripe. Complete or Fail is
// the bank's answer; the fan then lands on the order, or back on checkout
// with the seats still held for another card.
import { get, post } from '../api.js';
import { h, money } from '../format.js';

export async function render(main, [paymentId], ctx) {
  if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, true); return; }
  main.append(h('h1', {}, 'Verify your card'));
  let payment;
  try {
    ({ payment } = await get(`/api/payments/${paymentId}`));
  } catch (err) {
    main.append(h('p', { class: 'error' }, err.status === 404 ? 'There is no such payment.' : err.message));
    return;
  }
  const back = h('a', { href: `/checkout/${payment.hold_id}`, 'data-link': true, class: 'button secondary' }, 'Back to checkout');
  const msg = h('p', { role: 'alert' });
  if (payment.status !== 'requires_action') {
    main.append(h('p', {}, 'This payment is not waiting for a card verification.'), back);
    return;
  }
  const answer = async (result, button) => {
    for (const b of main.querySelectorAll('button')) b.disabled = true;
    msg.className = '';
    msg.textContent = 'Verifying…';
    try {
      const res = await post(`/api/payments/${paymentId}/test-challenge`, { result });
      ctx.navigate(res.order_id ? `/orders/${res.order_id}` : `/checkout/${payment.hold_id}`);
    } catch (err) {
      msg.className = 'error';
      msg.textContent = err.message;
      button.replaceWith(back);
    }
  };
  const complete = h('button', { type: 'button' }, 'Complete authentication');
  const fail = h('button', { type: 'button', class: 'secondary' }, 'Fail authentication');
  complete.addEventListener('click', () => answer('complete', complete));
  fail.addEventListener('click', () => answer('fail', fail));
  main.append(h('section', { class: 'card stack' },
    h('p', {}, `Payment of ${money(payment.amount_cents, payment.currency)}. Your bank asks you to confirm it is you.`),
    h('p', { class: 'muted' }, 'Test mode: this page stands in for the bank\'s 3-D Secure check. Real payments show your bank\'s own page here.'),
    h('div', { class: 'row' }, complete, fail), msg));
}
