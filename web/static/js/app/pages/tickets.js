// My tickets: each with its rotating entry code as a QR code, and what the
// fan can do with it: transfer it to another fan, sell it on resale (up to
// the event's cap), withdraw a listing, cancel a pending transfer. Transfers
// offered to the fan are listed first, to accept or decline.
import { get, post, del } from '../api.js';
import { h, money, toast, seatLabel } from '../format.js';

const statusText = {
  valid: 'Valid', listed: 'Listed for resale', transfer_pending: 'Transfer pending', checked_in: 'Checked in', void: 'No longer valid',
  review: 'Waiting for the order check',
};

export async function render(main, _params, ctx) {
  if (!ctx.account) { ctx.navigate('/signin?next=/tickets', true); return; }
  const timers = [];
  const stop = () => { timers.forEach(clearTimeout); timers.length = 0; };
  const reload = () => { stop(); main.replaceChildren(); draw(); };

  async function draw() {
    main.append(h('h1', {}, 'My tickets'));
    let tickets, transfers;
    try {
      [tickets, transfers] = await Promise.all([get('/api/tickets'), get('/api/transfers')]);
    } catch (err) {
      main.append(h('p', { class: 'error' }, `Could not load your tickets: ${err.message}`));
      return;
    }
    const incoming = transfers.filter((x) => x.direction === 'incoming');
    if (incoming.length) {
      main.append(h('section', { class: 'card', 'aria-label': 'Tickets sent to you' },
        h('h2', {}, 'Sent to you'),
        h('ul', { class: 'selection' }, ...incoming.map((x) => h('li', {},
          `${x.from_name} sends you ${x.event_name} · ${seatText(x.seat)}`,
          h('span', {},
            h('button', { type: 'button', onclick: () => act(() => post(`/api/transfers/${x.id}/accept`), 'The ticket is yours.') }, 'Accept'),
            ' ',
            h('button', { type: 'button', class: 'secondary', onclick: () => act(() => post(`/api/transfers/${x.id}/decline`), 'Declined.') }, 'Decline')))))));
    }
    if (!tickets.length) {
      main.append(h('p', { class: 'muted' }, 'No tickets yet. ', h('a', { href: '/', 'data-link': true }, 'Find an event')));
      return;
    }
    main.append(h('div', { class: 'tickets' }, ...tickets.map(card)));
    main.append(await payoutsPanel());
  }

  // payoutsPanel shows where resale money goes: the payout account (a
  // button to connect or finish onboarding) and the payouts so far.
  async function payoutsPanel() {
    let p;
    try {
      p = await get('/api/account/payouts');
    } catch {
      return h('p', { class: 'muted' }, 'Resale payouts are unavailable right now.');
    }
    const state = { none: 'No payout account connected yet: connect one before selling on resale.',
      onboarding: 'Your payout account needs a few more details before it can be paid.',
      active: 'Your payout account is ready: resale payouts are sent to it after the event.' }[p.account.status] || p.account.status;
    const connect = async () => {
      try {
        const c = await post('/api/account/payouts/connect');
        if (c.account.status === 'active') { toast('Payout account connected.'); reload(); } else { location.assign(c.url); }
      } catch (err) { toast(err.message); }
    };
    return h('details', { class: 'card', 'aria-label': 'Resale payouts' }, h('summary', {}, 'Resale payouts'),
      h('p', {}, state),
      p.account.status === 'active' ? null : h('button', { type: 'button', onclick: connect }, 'Connect payout account'),
      p.payouts.length ? h('ul', {}, ...p.payouts.map((x) => h('li', {},
        `${x.event_name} · ${money(x.net_cents, x.currency)} · ${x.status === 'paid' ? 'paid' : x.status === 'void' ? 'void (event cancelled)' : 'due ' + new Date(x.due_at).toLocaleDateString()}`))) : null);
  }

  // act runs an API call, says how it went and redraws the page.
  async function act(call, done) {
    try {
      await call();
      toast(done);
      reload();
    } catch (err) {
      toast(err.code === 'price_above_cap' ? `The most you can ask is ${money(err.details.cap_cents)}.` : err.message);
    }
  }

  function card(t) {
    const code = h('div', { class: 'qrbox', 'aria-label': 'Entry code' });
    if (t.status === 'valid') {
      code.append(h('p', { class: 'muted' }, 'Loading code…'));
      const refresh = async () => {
        try {
          const c = await get(`/api/tickets/${t.id}/code`);
          // The server draws the QR code (qr_png, a data URL) so the page
          // needs no QR library; the text code is there for screen readers.
          code.replaceChildren(
            c.qr_png ? h('img', { class: 'qr', src: c.qr_png, alt: `Entry code ${c.code}` }) : h('code', {}, c.code),
            h('p', { class: 'muted' }, entryRule(t)));
          const wait = Math.max(2000, new Date(c.expires_at).getTime() - Date.now());
          timers.push(setTimeout(refresh, wait));
        } catch {
          code.replaceChildren(h('p', { class: 'muted' }, 'Entry code unavailable right now.'));
        }
      };
      refresh();
    } else {
      code.append(h('p', { class: 'muted' }, t.status === 'checked_in' ? 'Checked in. Enjoy the show.' : 'No entry code while the ticket is ' + (statusText[t.status] || t.status).toLowerCase() + '.'));
    }
    return h('article', { class: 'card', 'data-ticket': t.id },
      h('h2', {}, t.event_name || 'Ticket'),
      h('p', {}, t.seat ? seatText(t.seat) : ''),
      h('p', { class: 'muted' }, `Status: ${statusText[t.status] || t.status}`),
      code,
      ...actions(t),
      h('p', {}, h('a', { href: `/api/tickets/${t.id}/pdf` }, 'Download PDF')));
  }

  function actions(t) {
    if (t.status === 'listed') {
      return [h('p', {}, `Listed at ${money(t.listing?.price_cents ?? 0)}. `,
        h('button', { type: 'button', class: 'secondary', onclick: () => act(() => del(`/api/tickets/${t.id}/listing`), 'Listing withdrawn.') }, 'Withdraw listing'))];
    }
    if (t.status === 'transfer_pending') {
      return [h('p', {}, 'Waiting for the recipient to accept. ',
        h('button', { type: 'button', class: 'secondary', onclick: () => act(() => del(`/api/transfers/${t.transfer_id}`), 'Transfer cancelled.') }, 'Cancel transfer'))];
    }
    if (t.status !== 'valid') return [];
    const email = h('input', { type: 'email', required: true, name: 'to_email', autocomplete: 'off', 'aria-label': 'Recipient email' });
    const price = h('input', { type: 'number', required: true, min: 0.01, step: 0.01, name: 'price', 'aria-label': 'Resale price ($)', value: (t.seat.price_cents / 100).toFixed(2) });
    return [
      h('details', {}, h('summary', {}, 'Transfer to a friend'),
        h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); act(() => post(`/api/tickets/${t.id}/transfers`, { to_email: email.value.trim() }), `Sent to ${email.value.trim()}; it is theirs once they accept.`); } },
          h('label', {}, 'Their email', email), h('button', { type: 'submit' }, 'Send ticket'))),
      h('details', {}, h('summary', {}, 'Sell on resale'),
        h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); act(() => post(`/api/tickets/${t.id}/listing`, { price_cents: Math.round(Number(price.value) * 100) }), 'Listed for resale.'); } },
          h('label', {}, 'Price ($), up to the resale cap (face value unless the event allows more)', price),
          h('p', { class: 'muted' }, 'A fee is taken from the price when it sells; you get the rest.'),
          h('button', { type: 'submit' }, 'List ticket'))),
    ];
  }

  await draw();
  return stop;
}

// entryRule says honestly which code admits at this ticket's event.
function entryRule(t) {
  return t.print_at_home
    ? 'This event also accepts the printed PDF: its code admits once, so keep it private. The code here changes every few seconds.'
    : 'Show this code at the door: it changes every few seconds, so screenshots and printouts do not admit.';
}

function seatText(s) {
  return seatLabel(s);
}
