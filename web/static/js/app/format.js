// format.js: money, dates and small DOM helpers shared by the pages.

export function money(cents, currency = 'usd') {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(cents / 100);
}

// seatLabel names a seat for a fan: section, row and seat, or for a place
// of a general-admission area (it has no row) the section alone.
export function seatLabel(s) {
  return s.row ? `${s.section} · Row ${s.row} · Seat ${s.number}` : `${s.section} · General admission`;
}

// dateTime formats a time; with a venue's IANA time zone (an event's
// time_zone) it is shown in that zone, named, as the fan will live it.
export function dateTime(iso, timeZone) {
  if (timeZone) {
    try {
      return new Date(iso).toLocaleString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
        hour: 'numeric', minute: '2-digit', timeZone, timeZoneName: 'short' });
    } catch { /* a zone this browser does not know: its own zone below */ }
  }
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// paragraphs renders plain text (an event description) as <p> elements,
// one per blank-line-separated block, as text: never parsed as HTML.
export function paragraphs(text) {
  return String(text || '').split(/\r?\n\s*\r?\n/).map((p) => p.trim()).filter(Boolean)
    .map((p) => h('p', {}, ...p.split(/\r?\n/).flatMap((line, i) => (i ? [h('br'), line] : [line]))));
}

// h builds an element: h('p', {class: 'muted'}, 'text', child...).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const statusLabel = {
  upcoming: 'Upcoming', on_sale: 'On sale', paused: 'Paused', sold_out: 'Sold out', cancelled: 'Cancelled',
};

// orderStatusLabel names an order's status for fans and admins.
export const orderStatusLabel = {
  paid: 'Paid', review: 'Being checked', rejected: 'Not confirmed', refunded: 'Refunded',
};

// countdown renders mm:ss until `until` into el and calls onZero once.
export function countdown(el, until, onZero) {
  let done = false;
  const tick = () => {
    const left = Math.max(0, new Date(until).getTime() - Date.now());
    const m = Math.floor(left / 60000), s = Math.floor(left / 1000) % 60;
    el.textContent = `${m}:${String(s).padStart(2, '0')}`;
    el.classList.toggle('low', left < 60000);
    if (left === 0 && !done) { done = true; onZero?.(); }
  };
  tick();
  const id = setInterval(tick, 250);
  return () => clearInterval(id);
}

export function toast(message) {
  const box = document.getElementById('toast');
  const el = h('div', { class: 'msg' }, message);
  box.append(el);
  setTimeout(() => el.remove(), 4000);
}
