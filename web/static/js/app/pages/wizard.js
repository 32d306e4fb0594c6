// wizard.js: the event wizard, /admin/events/new and /admin/events/{id}/edit.
// Six steps, each saved through the admin API: 1 details (times typed in
// the venue's time zone), 2 prices per section and seat type with fees and
// tax (a new event is created here: it cannot exist without prices),
// 3 presale windows and codes, 4 the waiting room, 5 held-back seats and
// their release schedule, 6 a preview of the fan's page (its own render)
// and Open sale. Name, times and prices can change until the sale starts;
// the server answers 409 sale_started after. API errors show next to the
// field they name (validation_failed's fields, or the code's field).
import { api, get } from '../api.js';
import { h, money, dateTime, statusLabel, toast } from '../format.js';

const steps = ['Details', 'Prices and fees', 'Presales', 'Waiting room', 'Held-back seats', 'Preview and open'];

// fieldOfCode says which field an error code without fields is about.
const fieldOfCode = {
  invalid_dates: 'sale_opens', missing_price: 'prices', unknown_price_key: 'prices', invalid_fees: 'fees',
  invalid_reserve_share: 'reserve_share', unknown_time_zone: 'venue_id', venue_not_found: 'venue_id',
};

// wallTime is instant t as the wall clock of zone shows it, in the form a
// datetime-local input takes ("2026-05-01T20:00").
export function wallTime(t, zone) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: zone || 'UTC', hourCycle: 'h23',
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
    .formatToParts(t).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

// zonedInstant is the instant at which zone's wall clock reads value
// (a datetime-local string): the zone's offset is found by formatting a
// guess, then checked once more across an offset change.
export function zonedInstant(value, zone) {
  const guess = Date.parse(`${value}Z`);
  if (Number.isNaN(guess)) return null;
  const offsetAt = (t) => Date.parse(`${wallTime(new Date(t), zone)}Z`) - t;
  let t = guess - offsetAt(guess);
  const again = offsetAt(t);
  if (again !== guess - t) t = guess - again;
  return new Date(t);
}

const cents = (v) => (v === '' || v == null ? null : Math.round(Number(v) * 100));
const units = (c) => (c == null ? '' : (c / 100).toFixed(2));

function needAdmin(main, ctx) {
  if (ctx.account?.role === 'admin') return false;
  main.append(h('h1', {}, 'Event wizard'),
    h('p', { class: 'error' }, ctx.account ? 'This page is for admins.' : 'Sign in as an admin to see this page.'));
  return true;
}

// renderNew: /admin/events/new.
export async function renderNew(main, _params, ctx) {
  if (needAdmin(main, ctx)) return;
  return wizard(main, null, ctx);
}

// renderEdit: /admin/events/{id}/edit[?step=N].
export async function renderEdit(main, [id], ctx) {
  if (needAdmin(main, ctx)) return;
  return wizard(main, id, ctx);
}

async function wizard(main, id, ctx) {
  const venues = await get('/api/admin/venues');
  const st = { id, event: null, layout: null, draft: {}, image: null, step: 0, cleanup: null };
  if (id) await reload();
  const wanted = Number(new URLSearchParams(location.search).get('step'));
  st.step = id && wanted >= 1 && wanted <= steps.length ? wanted - 1 : 0;

  const title = h('h1', {}, '');
  const notice = h('p', { class: 'card', 'data-testid': 'wizard-notice', hidden: true });
  const nav = h('ol', { class: 'wizard-steps', 'aria-label': 'Steps' });
  const panel = h('section', { class: 'card wizard-panel', 'aria-live': 'polite' });
  main.append(title, h('p', {}, h('a', { href: '/admin', 'data-link': true }, 'Back to admin')), notice, nav, panel);

  async function reload() {
    [st.event, st.layout] = await Promise.all([get(`/api/events/${st.id}`), get(`/api/events/${st.id}/seatmap`)]);
  }
  const venue = () => (st.event ? { ...st.event.venue, ...venues.find((v) => v.id === st.event.venue.id) }
    : venues.find((v) => v.id === st.draft.venue_id));
  const zone = () => venue()?.time_zone || 'UTC';

  function show(step) {
    st.cleanup?.();
    st.cleanup = null;
    st.step = step;
    title.textContent = st.event ? `Edit event: ${st.event.name}` : 'New event';
    const upcoming = !st.event || st.event.status === 'upcoming';
    notice.hidden = upcoming;
    notice.textContent = upcoming ? '' : `This event is ${(statusLabel[st.event.status] || st.event.status).toLowerCase()}: its name, times and prices are fixed now; the other settings can still change.`;
    nav.replaceChildren(...steps.map((name, i) => h('li', {}, h('button', {
      type: 'button', class: i === step ? '' : 'secondary', 'aria-current': i === step ? 'step' : false,
      disabled: !st.event && i > 1, onclick: () => show(i),
    }, `${i + 1}. ${name}`))));
    if (st.id) history.replaceState({}, '', `/admin/events/${st.id}/edit?step=${step + 1}`);
    panel.replaceChildren(h('h2', {}, `Step ${step + 1} of ${steps.length}: ${steps[step]}`));
    const render = [details, prices, presales, waitingRoom, heldBack, preview][step];
    Promise.resolve(render(panel)).catch((e) => panel.append(h('p', { class: 'error' }, e.message)));
  }
  const next = () => show(Math.min(st.step + 1, steps.length - 1));

  // field is a labelled input with the place its error shows.
  function field(label, name, input, hint) {
    input.name ||= name;
    input.id ||= `wz-${name}`;
    return h('div', { class: 'wizard-field' }, h('label', { for: input.id }, label), input,
      hint ? h('span', { class: 'muted' }, hint) : '',
      h('span', { class: 'error field-error', 'data-error-for': name, id: `wz-${name}-error`, role: 'alert' }));
  }
  function clearErrors(form) {
    for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = '';
  }
  // showError puts an API error next to its fields, else at the form's
  // foot; fields under a prefix (fees.tax_bps) fall back to the prefix.
  function showError(form, e) {
    clearErrors(form);
    const spot = (name) => form.querySelector(`[data-error-for="${CSS.escape(name)}"]`)
      || form.querySelector(`[data-error-for="${CSS.escape(name.split('.')[0])}"]`);
    const fields = e.details?.fields;
    let placed = false;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        const el = spot(k);
        if (el) { el.textContent = `${el.textContent ? `${el.textContent} ` : ''}${v}`; placed = true; }
      }
    }
    const key = e.details?.key ? ` (${e.details.key})` : e.details?.section ? ` (section ${e.details.section})` : '';
    if (!placed && fieldOfCode[e.code] && spot(fieldOfCode[e.code])) {
      spot(fieldOfCode[e.code]).textContent = `${e.message}${key}`;
      placed = true;
    }
    if (!placed) form.querySelector('[data-error-for="_form"]').textContent = `${e.message}${key}`;
  }
  const formFoot = () => h('p', { class: 'error', 'data-error-for': '_form', role: 'alert' });
  // submitting runs save on submit with the button disabled and the
  // errors shown; save returns true to go to the next step.
  const submitting = (save) => async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const btn = form.querySelector('button[type=submit]');
    clearErrors(form);
    btn.disabled = true;
    try { if (await save(form)) next(); } catch (err) { showError(form, err); } finally { btn.disabled = false; }
  };

  // Step 1: details.
  function details(el) {
    const ev = st.event || {};
    const d = st.draft;
    const name = h('input', { value: d.name ?? ev.name ?? '', required: true, maxlength: 200 });
    const venueSel = h('select', { disabled: Boolean(st.event) },
      st.event ? h('option', { value: ev.venue.id }, ev.venue.name)
        : [h('option', { value: '' }, 'Choose a venue'), ...venues.map((v) => h('option', { value: v.id, selected: v.id === d.venue_id },
          `${v.name}${v.city ? `, ${v.city}` : ''} (${v.capacity} places, ${v.time_zone})`))]);
    const artist = h('input', { value: d.artist ?? ev.artist ?? '', maxlength: 200 });
    const genre = h('input', { value: d.genre ?? ev.genre ?? '', maxlength: 100 });
    const about = h('textarea', { rows: 5, maxlength: 5000 }, d.description ?? ev.description ?? '');
    const image = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/gif,image/webp' });
    const start = h('input', { type: 'datetime-local', required: true });
    const opens = h('input', { type: 'datetime-local', required: true });
    const zoneNote = h('span', { class: 'muted', 'data-testid': 'venue-zone' });
    const setTimes = () => {
      zoneNote.textContent = `Times are in the venue's time zone: ${zone()}.`;
      const at = (iso) => (iso ? wallTime(new Date(iso), zone()) : '');
      start.value = d.event_date_local ?? at(ev.event_date);
      opens.value = d.sale_opens_local ?? at(ev.sale_opens);
    };
    venueSel.addEventListener('change', () => { d.venue_id = venueSel.value; setTimes(); });
    setTimes();
    el.append(h('form', { class: 'stack wizard-form', novalidate: true, onsubmit: submitting(async (form) => {
      const bad = {};
      if (!name.value.trim()) bad.name = 'Give the event a name.';
      if (!st.event && !venueSel.value) bad.venue_id = 'Choose a venue.';
      if (!start.value) bad.event_date = 'When does the show start?';
      if (!opens.value) bad.sale_opens = 'When does the sale open?';
      if (Object.keys(bad).length) { showError(form, { details: { fields: bad } }); return false; }
      Object.assign(d, { name: name.value.trim(), artist: artist.value.trim(), genre: genre.value.trim(), description: about.value,
        event_date_local: start.value, sale_opens_local: opens.value });
      if (!st.event) d.venue_id = venueSel.value;
      const body = { name: d.name, artist: d.artist, genre: d.genre, description: d.description,
        event_date: zonedInstant(start.value, zone()).toISOString(), sale_opens: zonedInstant(opens.value, zone()).toISOString() };
      st.image = image.files[0] || st.image;
      if (!st.event) return true; // created with its prices, in step 2
      const patch = { artist: body.artist, genre: body.genre, description: body.description };
      if (st.event.status === 'upcoming') Object.assign(patch, { name: body.name, event_date: body.event_date, sale_opens: body.sale_opens });
      // Empty text is not a value the API takes: an empty field keeps what was there.
      for (const k of ['artist', 'genre', 'description']) if (!patch[k]) delete patch[k];
      await api('PATCH', `/api/admin/events/${st.id}`, patch);
      if (st.image) await uploadImage();
      await reload();
      toast('Details saved');
      return true;
    }) },
    field('Event name', 'name', name),
    field('Venue', 'venue_id', venueSel, st.event ? 'The venue is fixed once the event exists.' : ''),
    field('Artist', 'artist', artist), field('Genre', 'genre', genre),
    field('About the event', 'description', about, 'Plain text; a blank line starts a new paragraph.'),
    field('Image', 'image', image, ev.image_url ? 'Choose a file to replace the current image.' : 'JPEG, PNG, GIF or WebP.'),
    zoneNote,
    field('Show starts', 'event_date', start),
    field('Sale opens', 'sale_opens', opens),
    formFoot(),
    h('button', { type: 'submit' }, 'Save and continue')));
  }

  async function uploadImage() {
    const file = st.image;
    const res = await fetch(`/api/admin/events/${st.id}/image`, { method: 'POST', body: file, credentials: 'same-origin',
      headers: { 'Content-Type': file.type || 'application/octet-stream', Accept: 'application/json' } });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw Object.assign(new Error(body?.error?.message || `image upload: HTTP ${res.status}`), { code: body?.error?.code, details: { fields: { image: body?.error?.message || 'upload failed' } } });
    }
    st.image = null;
  }

  // currentPrices reads the face prices back from the seat map: per
  // section its most common price, per seat type a price only where all
  // of that type's seats agree and differ from their sections.
  function currentPrices() {
    if (!st.layout) return { sections: {}, types: {} };
    const common = new Map();
    for (const s of st.layout.seats) {
      const m = common.get(s.section) || new Map();
      m.set(s.price_cents, (m.get(s.price_cents) || 0) + 1);
      common.set(s.section, m);
    }
    const sections = {};
    for (const [sec, m] of common) sections[sec] = [...m].sort((a, b) => b[1] - a[1])[0][0];
    const types = {};
    for (const t of ['vip', 'accessible']) {
      const of = st.layout.seats.filter((s) => s.type === t);
      if (of.length && of.every((s) => s.price_cents === of[0].price_cents) && of.some((s) => s.price_cents !== sections[s.section])) {
        types[t] = of[0].price_cents;
      }
    }
    return { sections, types };
  }

  // Step 2: prices, fees and tax (creates a new event).
  function prices(el) {
    const v = venue();
    if (!v) { el.append(h('p', { class: 'error' }, 'Choose a venue in step 1 first.')); return; }
    const ev = st.event || {};
    const d = st.draft;
    const cur = d.prices || currentPrices();
    const currency = ev.currency || d.currency || 'usd';
    const sections = v.sections || ev.sections || [];
    const secInputs = sections.map((s) => [s, h('input', { type: 'number', min: 0, step: '0.01', required: true,
      value: units(cur.sections[s.id]), id: `wz-price-${s.id}` })]);
    const types = (v.seat_types || [...new Set((st.layout?.seats || []).map((x) => x.type))]).filter((t) => t !== 'standard');
    const typeInputs = types.map((t) => [t, h('input', { type: 'number', min: 0, step: '0.01', value: units(cur.types[t]), id: `wz-price-type-${t}` })]);
    const cur$ = h('select', { disabled: Boolean(st.event) }, ['usd', 'eur', 'gbp', 'cad', 'aud'].map((c) => h('option', { value: c, selected: c === currency }, c.toUpperCase())));
    const f = ev.fees || d.fees || {};
    const svcPct = h('input', { type: 'number', min: 0, max: 100, step: '0.01', value: ((f.service_fee_bps || 0) / 100).toString() });
    const svcFlat = h('input', { type: 'number', min: 0, step: '0.01', value: units(f.service_fee_cents || 0) });
    const facility = h('input', { type: 'number', min: 0, step: '0.01', value: units(f.facility_fee_cents || 0) });
    const taxPct = h('input', { type: 'number', min: 0, max: 100, step: '0.01', value: ((f.tax_bps || 0) / 100).toString() });
    const taxIn = h('input', { type: 'checkbox', checked: Boolean(f.tax_included) });
    const reserve = h('input', { type: 'number', min: 0, max: 100, step: 1, value: d.reserve_percent ?? 10 });
    const perFan = h('input', { type: 'number', min: 1, max: 8, step: 1, value: ev.max_seats_per_account || d.max_seats_per_account || 8, disabled: Boolean(st.event) });
    const priceRows = h('tbody', {}, secInputs.map(([s, input]) => h('tr', {},
      h('td', {}, h('label', { for: input.id }, `Price of ${s.name}`)),
      h('td', {}, s.kind === 'ga' ? 'standing' : s.tier || ''), h('td', {}, input))),
    typeInputs.map(([t, input]) => h('tr', {},
      h('td', {}, h('label', { for: input.id }, `Price of ${t} seats`)),
      h('td', {}, 'any section (empty: the section price)'), h('td', {}, input))));
    el.append(h('form', { class: 'wizard-form', novalidate: true, onsubmit: submitting(async (form) => {
      const map = {};
      const bad = {};
      for (const [s, input] of secInputs) {
        if (input.value === '' || Number(input.value) < 0) bad.prices = `Give every section a price (${s.name}).`;
        else map[s.id] = cents(input.value);
      }
      for (const [t, input] of typeInputs) if (input.value !== '') map[t] = cents(input.value);
      if (Object.keys(bad).length) { showError(form, { details: { fields: bad } }); return false; }
      const fees = { service_fee_bps: Math.round(Number(svcPct.value || 0) * 100), service_fee_cents: cents(svcFlat.value || 0),
        facility_fee_cents: cents(facility.value || 0), tax_bps: Math.round(Number(taxPct.value || 0) * 100), tax_included: taxIn.checked };
      d.prices = { sections: Object.fromEntries(secInputs.map(([s, i]) => [s.id, cents(i.value)])),
        types: Object.fromEntries(typeInputs.filter(([, i]) => i.value !== '').map(([t, i]) => [t, cents(i.value)])) };
      d.fees = fees;
      d.currency = cur$.value;
      d.reserve_percent = reserve.value;
      d.max_seats_per_account = Number(perFan.value);
      if (!st.event) {
        const created = await api('POST', '/api/admin/events', {
          venue_id: d.venue_id, name: d.name, event_date: zonedInstant(d.event_date_local, zone()).toISOString(),
          sale_opens: zonedInstant(d.sale_opens_local, zone()).toISOString(), prices: map, fees, currency: d.currency,
          reserve_share: Number(reserve.value || 0) / 100, max_seats_per_account: d.max_seats_per_account,
          description: d.description || undefined, artist: d.artist || undefined, genre: d.genre || undefined,
        }).catch((e) => {
          // Step 1's fields came with this request: say where to fix them.
          if (e.details?.fields) for (const k of ['name', 'event_date', 'sale_opens', 'venue_id', 'artist', 'genre', 'description']) {
            if (e.details.fields[k]) e.details.fields.prices = `${e.details.fields.prices ? `${e.details.fields.prices} ` : ''}Step 1, ${k.replace('_', ' ')}: ${e.details.fields[k]}`;
          }
          if (e.code === 'invalid_dates') e.message = `Step 1: ${e.message}`;
          throw e;
        });
        st.id = created.id;
        st.draft = {};
        if (st.image) await uploadImage().catch((e) => toast(`Image: ${e.message} (try again in step 1)`));
        await reload();
        toast('Event created');
        return true;
      }
      if (st.event.status === 'upcoming') await api('PUT', `/api/admin/events/${st.id}/prices`, { prices: map });
      await api('PATCH', `/api/admin/events/${st.id}`, { fees });
      await reload();
      toast('Prices saved');
      return true;
    }) },
    h('p', { class: 'muted' }, `Face values per ticket in ${currency.toUpperCase()}; fans see the all-in price (fees and tax added) everywhere.`),
    h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Section or seat type'), h('th', {}, 'Tier'), h('th', {}, 'Price'))), priceRows),
    h('span', { class: 'error field-error', 'data-error-for': 'prices', role: 'alert' }),
    h('div', { class: 'stack' },
      field('Currency', 'currency', cur$),
      field('Service fee (% of the ticket)', 'fees.service_fee_bps', svcPct),
      field('Service fee per ticket', 'fees.service_fee_cents', svcFlat),
      field('Facility fee per ticket', 'fees.facility_fee_cents', facility),
      field('Tax (%)', 'fees.tax_bps', taxPct),
      h('label', { class: 'check' }, taxIn, 'Tax is included in the prices above'),
      h('span', { class: 'error field-error', 'data-error-for': 'fees', role: 'alert' }),
      st.event ? '' : field('Hold back (% of seats)', 'reserve_share', reserve, 'Kept off sale for the day of the show, the artist and accessible seating; step 5 schedules their release.'),
      field('Seats per fan (at most)', 'max_seats_per_account', perFan)),
    formFoot(),
    h('button', { type: 'submit' }, st.event ? 'Save prices and continue' : 'Create event and continue')));
  }

  // Step 3: presale windows and their codes.
  async function presales(el) {
    const list = h('div', { class: 'stack' });
    const load = async () => {
      const ws = await get(`/api/admin/events/${st.id}/presales`);
      list.replaceChildren(...(ws.length ? ws.map(windowCard) : [h('p', { class: 'muted' }, 'No presale yet: the sale opens to everybody at once.')]));
    };
    const windowCard = (w) => {
      const count = h('input', { type: 'number', min: 1, max: 10000, value: 50, id: `wz-codes-${w.id}` });
      const foot = h('p', { class: 'error', role: 'alert', 'data-error-for': '_form' });
      return h('form', { class: 'card row', 'data-presale': w.id, onsubmit: async (e) => {
        e.preventDefault();
        foot.textContent = '';
        try {
          const r = await api('POST', `/api/admin/presales/${w.id}/codes`, { count: Number(count.value) });
          toast(`${r.generated} codes generated (${r.total} in all)`);
          await load();
        } catch (err) { foot.textContent = err.details?.fields ? Object.values(err.details.fields).join('; ') : err.message; }
      } },
      h('strong', {}, w.name), h('span', {}, `${dateTime(w.starts_at, zone())} – ${dateTime(w.ends_at, zone())}`),
      h('span', { class: 'muted', 'data-codes': String(w.codes) }, `${w.codes} codes, ${w.redeemed} used${w.shared_code ? `, shared code ${w.shared_code}` : ''}`),
      h('label', { for: count.id }, `Codes to generate for ${w.name}`), count, h('button', { type: 'submit' }, 'Generate codes'),
      h('a', { href: `/api/admin/presales/${w.id}/codes`, download: '', class: 'button secondary' }, `Download codes of ${w.name} (CSV)`), foot);
    };
    const name = h('input', { maxlength: 100 });
    const starts = h('input', { type: 'datetime-local' });
    const ends = h('input', { type: 'datetime-local' });
    if (st.event) ends.value = wallTime(new Date(st.event.sale_opens), zone());
    const shared = h('input', { maxlength: 32, autocomplete: 'off' });
    const cap = h('input', { type: 'number', min: 0, max: 8, value: 0 });
    el.append(h('p', { class: 'muted' }, 'A presale lets fans with a code buy before the general sale. Add windows, then generate single-use codes and download them to send out.'),
      list,
      h('form', { class: 'stack wizard-form', novalidate: true, onsubmit: submitting(async (form) => {
        const at = (inp) => (inp.value ? zonedInstant(inp.value, zone()).toISOString() : '');
        await api('POST', `/api/admin/events/${st.id}/presales`, { name: name.value.trim(), starts_at: at(starts), ends_at: at(ends),
          sections: [], max_seats_per_account: Number(cap.value || 0), shared_code: shared.value.trim() });
        name.value = ''; shared.value = '';
        form.querySelector('[data-error-for=_form]').textContent = '';
        toast('Presale added');
        await load();
        return false;
      }) },
      h('h3', {}, 'Add a presale window'),
      field('Presale name', 'name', name),
      field('Presale starts', 'starts_at', starts),
      field('Presale ends', 'ends_at', ends, 'At the latest when the general sale opens.'),
      field('Shared code (optional)', 'shared_code', shared, 'One code for everybody, 4 to 32 letters and digits; leave empty to use single-use codes only.'),
      field('Seats per fan in the presale', 'max_seats_per_account', cap, '0: as in the general sale.'),
      formFoot(),
      h('button', { type: 'submit' }, 'Add presale')),
      h('p', {}, h('button', { type: 'button', onclick: next }, 'Continue')));
    await load();
  }

  // Step 4: the waiting room.
  function waitingRoom(el) {
    const room = st.event.waiting_room || {};
    const on = h('input', { type: 'checkbox', checked: Boolean(room.enabled), id: 'wz-room-on' });
    const rate = h('input', { type: 'number', min: 1, value: room.admit_per_minute || 600 });
    const limit = h('input', { type: 'number', min: 1, value: room.active_limit || 2000 });
    const pow = h('input', { type: 'number', min: 0, max: 28, value: room.pow_difficulty ?? 16 });
    // Unset, a verified email is needed exactly when the room is on: the
    // box follows the room's until the admin ticks it either way.
    const verified = h('input', { type: 'checkbox', checked: room.require_verified_email ?? Boolean(room.enabled), id: 'wz-room-verified' });
    let verifiedTouched = room.require_verified_email != null;
    verified.addEventListener('change', () => { verifiedTouched = true; });
    on.addEventListener('change', () => { if (!verifiedTouched) verified.checked = on.checked; });
    el.append(h('form', { class: 'stack wizard-form', novalidate: true, onsubmit: submitting(async () => {
      await api('PUT', `/api/admin/events/${st.id}/queue`, { enabled: on.checked, admit_per_minute: Number(rate.value),
        active_limit: Number(limit.value), pow_difficulty: Number(pow.value), require_verified_email: verified.checked });
      await reload();
      toast('Waiting room saved');
      return true;
    }) },
    h('p', { class: 'muted' }, 'For a sale that may sell out in minutes: fans who arrive before the sale are put in a random order, then let in at a steady rate.'),
    h('label', { class: 'check' }, on, 'Waiting room on'),
    field('Fans let in per minute', 'admit_per_minute', rate),
    field('Fans shopping at once (at most)', 'active_limit', limit),
    field('Proof-of-work difficulty', 'pow_difficulty', pow, 'Bits of work a browser does to join: slows bots; 0 turns it off.'),
    h('label', { class: 'check' }, verified, 'Fans need a verified email to hold seats'),
    formFoot(),
    h('button', { type: 'submit' }, 'Save waiting room and continue')));
  }

  // Step 5: held-back seats and their release schedule.
  async function heldBack(el) {
    const figures = h('tbody');
    const load = async () => {
      const s = await get(`/api/admin/events/${st.id}/stats`).catch(() => null);
      const rows = (s?.sections || []).map((x) => [x.name, x.counts?.reserved || 0]).filter(([, n]) => n > 0);
      figures.replaceChildren(...(rows.length ? rows.map(([n, c]) => h('tr', {}, h('td', {}, n), h('td', { 'data-reserved': String(c) }, String(c))))
        : [h('tr', {}, h('td', { colspan: 2, class: 'muted' }, 'No seat is held back.'))]));
    };
    const scheduled = h('ul', { 'data-testid': 'scheduled-releases' });
    const sec = h('select', {}, h('option', { value: '' }, 'Any section'), (st.event.sections || []).map((x) => h('option', { value: x.id }, x.name)));
    const count = h('input', { type: 'number', min: 1, value: 10 });
    const at = h('input', { type: 'datetime-local' });
    const accAt = h('input', { type: 'datetime-local' });
    el.append(h('p', { class: 'muted' }, 'Held-back seats are not on sale. Put some on sale at a set time (say, the day before the show); empty time: now.'),
      h('table', { class: 'admin-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Section'), h('th', {}, 'Held back'))), figures),
      h('form', { class: 'stack wizard-form', novalidate: true, onsubmit: submitting(async () => {
        const body = { count: Number(count.value) };
        if (sec.value) body.section = sec.value;
        if (at.value) body.at = zonedInstant(at.value, zone()).toISOString();
        const r = await api('POST', `/api/admin/events/${st.id}/inventory/release`, body);
        scheduled.append(h('li', {}, r.scheduled ? `${r.scheduled.seats} seats go on sale ${dateTime(r.scheduled.at, zone())}` : `${r.released} seats put on sale now`));
        await load();
        return false;
      }) },
      h('h3', {}, 'Release held-back seats'),
      field('Section', 'section', sec), field('Seats', 'count', count), field('Release at', 'at', at, `In ${zone()}.`),
      formFoot(), h('button', { type: 'submit' }, 'Schedule release')),
      (st.event.accessible?.seats || 0) > 0 ? h('form', { class: 'stack wizard-form', novalidate: true, onsubmit: submitting(async () => {
        const r = await api('POST', `/api/admin/events/${st.id}/accessible/release`, accAt.value ? { at: zonedInstant(accAt.value, zone()).toISOString() } : undefined);
        scheduled.append(h('li', {}, r.scheduled ? `Unclaimed accessible seats go on general sale ${dateTime(r.scheduled.at, zone())}` : `${r.released} accessible seats put on general sale now`));
        return false;
      }) },
      h('h3', {}, 'Accessible seats'),
      field('Release unclaimed accessible seats at', 'at', accAt),
      formFoot(), h('button', { type: 'submit' }, 'Schedule accessible release')) : '',
      scheduled,
      h('p', {}, h('button', { type: 'button', onclick: next }, 'Continue')));
    await load();
  }

  // Step 6: the fan's page as fans will see it, and Open sale.
  async function preview(el) {
    const frame = h('div', { class: 'wizard-preview', role: 'region', 'aria-label': "Preview of the fan's event page" });
    const err = h('p', { class: 'error', role: 'alert' });
    const open = h('button', { type: 'button', disabled: st.event.status !== 'upcoming' }, 'Open sale now');
    open.addEventListener('click', async () => {
      open.disabled = true;
      try {
        await api('PATCH', `/api/admin/events/${st.id}`, { status: 'open' });
        toast('The sale is open');
        ctx.navigate(`/admin/events/${st.id}`);
      } catch (e) { err.textContent = e.message; open.disabled = false; }
    });
    el.append(h('p', {}, st.event.status === 'upcoming'
      ? `The sale opens on its own ${dateTime(st.event.sale_opens, zone())}; open it now instead, or come back to change anything until then.`
      : `The event is ${(statusLabel[st.event.status] || st.event.status).toLowerCase()}.`, ' From ',
    money(st.event.min_price_cents, st.event.currency), ' all-in.'),
    h('div', { class: 'row' }, open, h('a', { href: `/admin/events/${st.id}`, 'data-link': true, class: 'button secondary' }, 'Go to the dashboard'),
      h('a', { href: `/events/${st.id}`, target: '_blank', rel: 'noopener', class: 'button secondary' }, 'Open the fan page')), err, frame);
    // The fan page's own render, signed out: what any fan sees.
    const page = await import('./event.js');
    const stop = await page.render(frame, [st.id], { account: null, navigate: () => {}, refreshAccount: async () => null });
    st.cleanup = typeof stop === 'function' ? stop : null;
  }

  show(st.step);
  return () => st.cleanup?.();
}
