// dashboard.js: the parts of an event's admin dashboard worth watching
// during an on-sale, each fed by the 1 Hz stats frame (or its own poll):
// the sales funnel, the alert banner, the venue map coloured live
// (seatmap.js, read-only), the sortable and collapsible section table and
// the check-ins per entrance. admin.js lays them out.
import { get } from './api.js';
import { h } from './format.js';
import { SeatMapView, COLORS, LABELS } from './seatmap.js';
import { followSeats } from './live.js';

const num = (v) => (Number.isFinite(v) ? v : 0);

// funnelSteps are the sale's stages, from the waiting room to the seats
// sold: fans in the queue (numbered and waiting for the shuffle), admitted
// shoppers, holds not yet checked out, payments under way, seats sold.
const funnelSteps = [
  ['queue', 'In queue', (s) => num(s.queue_length) + num(s.prequeue)],
  ['admitted', 'Admitted', (s) => num(s.active_shoppers)],
  ['holding', 'Holding', (s) => num(s.holding)],
  ['paying', 'Paying', (s) => num(s.paying)],
  ['sold', 'Sold (seats)', (s) => num(s.totals?.sold)],
];

export function funnel() {
  const els = {};
  const el = h('section', { class: 'card', 'aria-labelledby': 'funnel-title' }, h('h2', { id: 'funnel-title' }, 'Sales funnel'),
    h('ol', { class: 'funnel' }, funnelSteps.map(([key, label]) => {
      els[key] = h('strong', { 'data-funnel': key }, '–');
      return h('li', {}, h('span', { class: 'muted' }, label), els[key]);
    })));
  return { el, show: (s) => { for (const [key, , fig] of funnelSteps) els[key].textContent = String(fig(s)); } };
}

// Alert thresholds, shown beside the banner so an admin knows what fires.
export const alertRules = {
  // Hold requests that failed with a server error, of this node's holds.
  errorRate: 0.01, errorMinRequests: 20,
  // Declined payments, of those started in the last 10 minutes.
  paymentFailureRate: 0.2, paymentMinAttempts: 5,
  // Outbox jobs out of attempts (emails, captures, releases).
  deadJobs: 1,
};

const pct = (x) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

// alerts is the banner over the dashboard: it lists what is over its
// threshold now (error rate and payment failures from the stats frame,
// dead jobs from GET /api/admin/jobs, polled) and always shows the
// thresholds.
export function alerts() {
  const banner = h('div', { class: 'alert-banner', role: 'alert', hidden: true, 'data-testid': 'alerts' });
  const rules = h('p', { class: 'muted', 'data-testid': 'alert-rules' },
    `Alerts fire at: hold errors above ${pct(alertRules.errorRate)} of at least ${alertRules.errorMinRequests} requests (this node); `
    + `declined payments above ${pct(alertRules.paymentFailureRate)} of at least ${alertRules.paymentMinAttempts} in the last 10 minutes; `
    + `${alertRules.deadJobs} or more dead background jobs.`);
  let stats = null, deadJobs = 0, timer = null, stopped = false;
  const render = () => {
    const items = [];
    if (stats) {
      const results = Object.values(stats.hold_results || {}).reduce((a, b) => a + b, 0);
      const errors = num(stats.errors);
      if (results >= alertRules.errorMinRequests && errors / results > alertRules.errorRate) {
        items.push(`Hold error rate ${pct(errors / results)} (${errors} of ${results}) is over ${pct(alertRules.errorRate)}`);
      }
      const tried = num(stats.payments_recent), failed = num(stats.payment_failures_recent);
      if (tried >= alertRules.paymentMinAttempts && failed / tried > alertRules.paymentFailureRate) {
        items.push(`Payment failures ${pct(failed / tried)} (${failed} of ${tried} in 10 minutes) are over ${pct(alertRules.paymentFailureRate)}`);
      }
    }
    if (deadJobs >= alertRules.deadJobs) items.push(`${deadJobs} dead background job${deadJobs === 1 ? '' : 's'}: see Admin → Background jobs`);
    banner.hidden = !items.length;
    banner.replaceChildren(...(items.length ? [h('strong', {}, '⚠ Alerts'), h('ul', {}, items.map((t) => h('li', {}, t)))] : []));
  };
  const pollJobs = async () => {
    try {
      const list = await get('/api/admin/jobs?status=dead');
      deadJobs = Object.values(list.counts?.dead || {}).reduce((a, b) => a + b, 0);
      render();
    } catch { /* the next poll tries again */ }
    if (!stopped) timer = setTimeout(pollJobs, 10000);
  };
  pollJobs();
  return {
    el: h('div', {}, banner, rules),
    show: (s) => { stats = s; render(); },
    stop: () => { stopped = true; clearTimeout(timer); },
  };
}

const sectionColumns = [['name', 'Section'], ['available', 'Available'], ['held', 'Held'], ['sold', 'Sold'], ['reserved', 'Held back'], ['resale', 'Resale']];

// sectionTable is the seat counts per section in a <details> (collapsed
// with a click on its summary), sorted by a click on a column's header
// (again: the other way).
export function sectionTable() {
  let rows = [], sortKey = 'name', desc = false;
  const body = h('tbody');
  const heads = sectionColumns.map(([key, label]) => {
    const btn = h('button', { type: 'button', class: 'linklike sort', 'data-sort': key }, label);
    btn.addEventListener('click', () => { desc = sortKey === key ? !desc : key !== 'name'; sortKey = key; draw(); });
    return h('th', { 'aria-sort': 'none' }, btn);
  });
  const draw = () => {
    heads.forEach((th, i) => th.setAttribute('aria-sort', sectionColumns[i][0] === sortKey ? (desc ? 'descending' : 'ascending') : 'none'));
    const val = (r) => (sortKey === 'name' ? r.name : num(r.counts[sortKey]));
    const sorted = [...rows].sort((a, b) => {
      const x = val(a), y = val(b);
      const c = typeof x === 'string' ? x.localeCompare(y, undefined, { numeric: true }) : x - y;
      return desc ? -c : c;
    });
    body.replaceChildren(...sorted.map((sec) => h('tr', { 'data-section': sec.id }, h('td', {}, sec.name),
      sectionColumns.slice(1).map(([k]) => h('td', {}, String(num(sec.counts[k])))))));
  };
  const el = h('details', { class: 'card', open: true }, h('summary', {}, h('h2', {}, 'Sections')),
    h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, heads)), body));
  return { el, show: (s) => { rows = s.sections || []; draw(); } };
}

// checkIns shows the event's check-ins per entrance (GET
// .../checkins/summary, polled every 5 s while the page is open).
export function checkIns(eventId) {
  const total = h('strong', { 'data-tile': 'checked_in' }, '–');
  const body = h('tbody');
  let timer = null, stopped = false;
  const load = async () => {
    try {
      const sum = await get(`/api/admin/events/${eventId}/checkins/summary`);
      total.textContent = `${sum.checked_in} of ${sum.tickets}`;
      body.replaceChildren(...(sum.entrances.length ? sum.entrances.map((e) => h('tr', {},
        h('td', {}, e.entrance || '(not named)'), h('td', {}, String(e.checked_in)), h('td', {}, new Date(e.last_at).toLocaleTimeString())))
        : [h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'Nobody checked in yet.'))]));
    } catch { /* the next poll tries again */ }
    if (!stopped) timer = setTimeout(load, 5000);
  };
  load();
  const el = h('section', { class: 'card', 'aria-labelledby': 'checkins-title' }, h('h2', { id: 'checkins-title' }, 'Check-ins'),
    h('div', { class: 'tiles' }, h('div', { class: 'tile card' }, h('span', { class: 'muted' }, 'Checked in'), total)),
    h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, ['Entrance', 'Checked in', 'Last'].map((t) => h('th', {}, t)))), body));
  return { el, stop: () => { stopped = true; clearTimeout(timer); } };
}

// venueMap draws the event's seats coloured by status, live (the fans' seat
// map and its diff stream), with no picking: an admin watches, never holds.
// start() builds it once the canvas is on the page (it sizes itself from
// the canvas); it returns the function that stops following.
export function venueMap(eventId) {
  const canvas = h('canvas', { role: 'img', 'aria-label': 'Venue map: seats by status (available, held, sold, held back, resale)' });
  const legend = h('ul', { class: 'legend' }, ['a', 'h', 's', 'r', 'x'].map((k) => {
    const sw = h('span', { class: 'swatch' });
    sw.style.background = COLORS[k];
    return h('li', {}, sw, ` ${LABELS[k]}`);
  }));
  const el = h('section', { class: 'card' }, h('h2', {}, 'Venue map'), h('div', { class: 'map-wrap map-readonly' }, canvas), legend);
  const start = async () => {
    const layout = await get(`/api/events/${eventId}/seatmap`);
    const view = new SeatMapView(canvas, layout, {});
    window.__boxofficeAdminMap = view;
    const stop = followSeats(eventId, {
      onSnapshot: (statuses) => view.setStatuses(statuses),
      onChanges: (changes) => view.applyChanges(changes),
    });
    return () => { stop(); delete window.__boxofficeAdminMap; };
  };
  return { el, start };
}
