// My tickets: each with its rotating entry code as a QR code.
import { get } from '../api.js';
import { h } from '../format.js';

export async function render(main, _params, ctx) {
  if (!ctx.account) { ctx.navigate('/signin?next=/tickets', true); return; }
  main.append(h('h1', {}, 'My tickets'));
  let tickets;
  try {
    tickets = await get('/api/tickets');
  } catch (err) {
    main.append(h('p', { class: 'error' }, `Could not load your tickets: ${err.message}`));
    return;
  }
  if (!tickets.length) {
    main.append(h('p', { class: 'muted' }, 'No tickets yet. ', h('a', { href: '/', 'data-link': true }, 'Find an event')));
    return;
  }
  const timers = [];
  main.append(h('div', { class: 'tickets' }, ...tickets.map((t) => {
    const code = h('div', { class: 'qrbox', 'aria-label': 'Entry code' }, h('p', { class: 'muted' }, 'Loading code…'));
    const refresh = async () => {
      try {
        const c = await get(`/api/tickets/${t.id}/code`);
        // The server draws the QR code (qr_png, a data URL) so the page
        // needs no QR library; the text code is there for screen readers.
        code.replaceChildren(
          c.qr_png ? h('img', { class: 'qr', src: c.qr_png, alt: `Entry code ${c.code}` }) : h('code', {}, c.code),
          h('p', { class: 'muted' }, 'The code changes every few seconds; screenshots stop working.'));
        const wait = Math.max(2000, new Date(c.expires_at).getTime() - Date.now());
        timers.push(setTimeout(refresh, wait));
      } catch {
        code.replaceChildren(h('p', { class: 'muted' }, t.status === 'valid' ? 'Entry code unavailable right now.' : `Ticket ${t.status}.`));
      }
    };
    refresh();
    return h('article', { class: 'card' },
      h('h2', {}, t.event?.name || 'Ticket'),
      h('p', {}, t.seat ? `${t.seat.section} · Row ${t.seat.row} · Seat ${t.seat.number}` : ''),
      h('p', { class: 'muted' }, `Status: ${t.status}`),
      code,
      h('p', {}, h('a', { href: `/api/tickets/${t.id}/pdf` }, 'Download PDF')));
  })));
  return () => timers.forEach(clearTimeout);
}
