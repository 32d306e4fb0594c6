// lottery.js: an event's registered-fan lottery on the event page (register
// or withdraw while open, then the fan's result) and the fan's
// registrations on the account page (docs/presales.md).
import { get, post, del } from './api.js';
import { h, dateTime } from './format.js';

const messages = {
  registration_closed: 'Registration for this lottery has closed.',
  email_not_verified: 'Verify your email address first (see your account page).',
  rate_limited: 'Too many tries. Wait a minute and try again.',
};

// resultText says where a fan's registration stands.
export function resultText(r) {
  if (r.state === 'won') return `You won: your personal access code is ${r.code}, for the presale from ${dateTime(r.presale_starts_at)}.`;
  if (r.state === 'not_drawn') return `You were not drawn this time. The public sale opens ${dateTime(r.sale_opens)}.`;
  return `You're registered. The draw is ${dateTime(r.draws_at)}.`;
}

const verifyLink = (eventId, hash) => h('a', { href: `/verify.html?${new URLSearchParams({ event: eventId, kind: 'lottery', ...(hash ? { hash } : {}) })}` },
  'Check the draw');

// lotteryCard renders the event's lottery, or returns null when it has none
// (or its sale is on).
export async function lotteryCard(eventId, ev, ctx) {
  if (ev.status !== 'upcoming') return null;
  let lottery;
  try { lottery = await get(`/api/events/${eventId}/lottery`); } catch { return null; }
  // The account's list, not GET .../registrations: that answers 404 to a
  // fan who is not registered, which the console would log as an error.
  let mine = null;
  if (ctx.account) {
    try { mine = (await get('/api/account/registrations')).find((r) => r.event_id === String(eventId)) || null; } catch { /* none */ }
  }
  const status = h('p', { role: 'status', 'data-testid': 'lottery-status' });
  const note = h('p', { role: 'alert' });
  const actions = h('div', { class: 'stack' });
  const card = h('section', { class: 'card stack', 'aria-label': 'Presale lottery' }, h('h2', {}, 'Presale lottery'),
    h('p', { class: 'muted' }, `Up to ${lottery.target} registered fans are drawn at random for the presale; `
      + `registration closes ${dateTime(lottery.closes_at, ev.time_zone)}. The draw can be checked by anyone.`),
    status, actions, note);

  const act = async (fn) => {
    note.textContent = '';
    note.className = '';
    try { await fn(); } catch (err) { note.className = 'error'; note.textContent = messages[err.code] || err.message; }
    render();
  };
  const render = () => {
    actions.replaceChildren();
    const open = lottery.state === 'open' && Date.now() < new Date(lottery.closes_at).getTime();
    if (mine) {
      status.textContent = resultText(mine);
    } else {
      status.textContent = open ? '' : lottery.state === 'drawn' ? 'The lottery has been drawn.' : 'Registration has closed.';
    }
    if (open && !mine) {
      actions.append(h('button', { type: 'button', onclick: () => {
        if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`); return; }
        act(async () => { mine = await post(`/api/events/${eventId}/registrations`); });
      } }, 'Register for the lottery'));
    } else if (open && mine) {
      actions.append(h('button', { type: 'button', class: 'secondary', onclick: () => act(async () => {
        await del(`/api/events/${eventId}/registrations`);
        mine = null;
      }) }, 'Withdraw'));
    }
    if (lottery.state === 'drawn') actions.append(verifyLink(eventId, mine?.hash));
  };
  render();
  return { card };
}

// registrationsSection is the account page's list of the fan's lottery
// registrations and their results.
export async function registrationsSection(main) {
  let regs;
  try { regs = await get('/api/account/registrations'); } catch { return; }
  if (!regs.length) return;
  main.append(h('section', { class: 'card stack', 'aria-label': 'Lottery registrations' }, h('h2', {}, 'Presale lotteries'),
    h('ul', { class: 'stack' }, ...regs.map((r) => h('li', { 'data-registration': r.event_id, 'data-state': r.state },
      h('a', { href: `/events/${r.event_id}`, 'data-link': true }, r.event_name), ': ', resultText(r), ' ',
      r.state === 'registered' ? '' : verifyLink(r.event_id, r.hash))))));
}
