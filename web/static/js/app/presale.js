// presale.js: the presale windows of an event, with live countdowns, and
// the access-code form, shared by the event page and the queue page.
import { get, post } from './api.js';
import { h } from './format.js';

// untilText says how long until iso, coarse far away and by the second
// in the last hour.
export function untilText(iso, now = Date.now()) {
  const left = Math.max(0, Math.floor((new Date(iso).getTime() - now) / 1000));
  const d = Math.floor(left / 86400), hh = Math.floor(left / 3600) % 24, m = Math.floor(left / 60) % 60, s = left % 60;
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${String(m).padStart(2, '0')}m`;
  return `${m}:${String(s).padStart(2, '0')}`;
}

// stateOf is a window's state now, by the fan's clock (the server's state
// is as of the list's answer).
function stateOf(w, now = Date.now()) {
  if (now < new Date(w.starts_at).getTime()) return 'upcoming';
  if (now < new Date(w.ends_at).getTime()) return 'open';
  return 'ended';
}

const codeMessages = {
  access_code_invalid: 'That code is not valid for this event. Check it and try again.',
  access_code_used: 'That code was already used by another account.',
  presale_not_open: 'That presale has not opened yet: come back when the countdown ends.',
  access_code_expired: 'That presale has ended.',
  rate_limited: 'Too many tries. Wait a minute and try again.',
};

// presaleCard renders the event's presale windows into a card, or returns
// null when the event has none (or its sale is on). onAccess(window) runs
// when the fan's code lets them in; hasOpenAccess() says whether the fan
// may shop in a window open now. The returned stop() ends the countdowns.
export async function presaleCard(eventId, ev, ctx, onAccess) {
  if (ev.status !== 'upcoming') return null;
  let windows;
  try { windows = await get(`/api/events/${eventId}/presales`); } catch { return null; }
  if (!windows.length) return null;
  const list = h('ul', { class: 'presales', 'aria-label': 'Presales' });
  const rows = windows.map((w) => {
    const when = h('span', { class: 'muted', 'data-countdown': w.id });
    const access = h('span', { class: 'badge on_sale', hidden: !w.has_access }, "You're in");
    const li = h('li', { 'data-presale': w.id }, h('strong', {}, w.name), ' ', access, h('br'), when,
      h('br'), h('span', { class: 'muted' }, `${w.sections.length ? `Sections ${w.sections.join(', ')}` : 'All sections'} · up to ${w.max_seats_per_account} per fan`),
      w.share ? h('span', { class: 'muted', 'data-share': w.id }, ` · ${w.share_remaining} of ${w.share} places left`) : '');
    list.append(li);
    return { w, when, access };
  });
  const tick = () => {
    const now = Date.now();
    for (const r of rows) {
      const st = stateOf(r.w, now);
      r.when.textContent = st === 'upcoming' ? `Opens in ${untilText(r.w.starts_at, now)}`
        : st === 'open' ? `Open now · ends in ${untilText(r.w.ends_at, now)}` : 'Ended';
    }
  };
  tick();
  const timer = setInterval(tick, 1000);

  const input = h('input', { name: 'access_code', autocomplete: 'off', spellcheck: 'false', required: true, maxlength: 64 });
  const btn = h('button', { type: 'submit' }, 'Enter code');
  const note = h('p', { role: 'alert' });
  const form = h('form', { class: 'stack', onsubmit: async (e) => {
    e.preventDefault();
    if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`); return; }
    btn.disabled = true;
    note.className = '';
    try {
      const w = await post(`/api/events/${eventId}/presales/access`, { code: input.value });
      const r = rows.find((x) => x.w.id === w.id);
      if (r) { r.w.has_access = true; r.access.hidden = false; }
      note.textContent = `You're in: ${w.name}. Pick your seats.`;
      input.value = '';
      onAccess?.(w);
    } catch (err) {
      note.className = 'error';
      note.textContent = codeMessages[err.code] || err.message;
    } finally {
      btn.disabled = false;
    }
  } }, h('label', {}, 'Access code', input), btn, note);
  const inNow = rows.find((r) => r.w.has_access && stateOf(r.w) === 'open');
  if (inNow) note.append(`You're in: ${inNow.w.name}. `, h('a', { href: `/events/${eventId}`, 'data-link': true }, 'Pick your seats'));
  const showForm = windows.some((w) => stateOf(w) !== 'ended');
  const card = h('section', { class: 'card', 'aria-label': 'Presales' }, h('h2', {}, 'Presales'),
    h('p', { class: 'muted' }, 'Before the general sale, fans with an access code shop first.'), list, showForm ? form : '');
  return {
    card,
    hasOpenAccess: () => rows.some((r) => r.w.has_access && stateOf(r.w) === 'open'),
    hasLottery: windows.some((w) => w.lottery),
    stop: () => clearInterval(timer),
  };
}
