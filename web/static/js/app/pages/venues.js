// venues.js: the admin's venues. /admin/venues lists them; /admin/venues/new
// and /admin/venues/{id} are the venue builder: a form of sections (seated:
// rows × seats, row labels, curve, position and seat types over seat
// ranges; standing: capacity and area) and the stage, with a live preview
// drawn by the fans' seat map (seatmap.js) from the server's own build of
// the design (POST /api/admin/venues/preview), so what the preview shows is
// what events will copy. Problems come back with the path of the offending
// value (sections[1].seat_types[0].row) and are shown at that field. The
// design imports from and exports to the JSON the API takes.
import { api, get } from '../api.js';
import { h, toast } from '../format.js';
import { SeatMapView } from '../seatmap.js';

const seatTypeNames = { standard: 'standard', vip: 'VIP', accessible: 'accessible', companion: 'companion', restricted_view: 'restricted view' };
const previewDelayMs = 300;

function needAdmin(main, ctx) {
  if (ctx.account?.role === 'admin') return false;
  main.append(h('h1', {}, 'Venues'), h('p', { class: 'error' }, ctx.account ? 'This page is for admins.' : 'Sign in as an admin to see this page.'));
  return true;
}

// renderVenues: /admin/venues.
export async function renderVenues(main, _params, ctx) {
  if (needAdmin(main, ctx)) return;
  const venues = await get('/api/admin/venues');
  main.append(h('h1', {}, 'Venues'),
    h('p', {}, h('a', { href: '/admin', 'data-link': true }, 'Admin'), ' · ', h('a', { href: '/admin/venues/new', 'data-link': true }, 'New venue')),
    h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['Venue', 'City', 'Places', 'Events', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, venues.length ? venues.map((v) => h('tr', { 'data-venue': v.id },
        h('td', {}, h('a', { href: `/admin/venues/${v.id}`, 'data-link': true }, v.name)),
        h('td', {}, v.city || ''), h('td', {}, String(v.capacity)), h('td', {}, String(v.events)),
        h('td', { class: 'muted' }, v.editable ? 'editable' : 'in use: fixed')))
        : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No venues yet.'))])));
}

// parentPath is the path of the value around one: sections[1].area.x →
// sections[1].area → sections[1] → sections → ''.
function parentPath(path) {
  const up = path.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
  return up === path ? '' : up;
}

// newSeated and newStanding are the sections the Add buttons make, placed
// below everything there is so that they do not overlap it.
function bottomOf(design) {
  let y = design.stage ? design.stage.y + design.stage.height : 0;
  for (const s of design.sections) {
    if (s.kind === 'ga') y = Math.max(y, s.area.y + s.area.height);
    else y = Math.max(y, (s.y || 0) + (s.rows || 1) * (s.row_spacing || 12) + Math.abs(s.curve || 0));
  }
  return Math.round(y + 30);
}

function freeID(design, prefix) {
  for (let i = 1; ; i++) if (!design.sections.some((s) => s.id === `${prefix}${i}`)) return `${prefix}${i}`;
}

function newSeated(design) {
  const id = freeID(design, 'S');
  return { id, name: `Section ${id.slice(1)}`, tier: '', rows: 5, seats_per_row: 10, row_labels: 'letters', x: 500, y: bottomOf(design), curve: 0, seat_types: [] };
}

function newStanding(design) {
  const id = freeID(design, 'GA');
  return { id, name: `Standing ${id.slice(2)}`, tier: '', kind: 'ga', capacity: 100, area: { x: 400, y: bottomOf(design), width: 200, height: 80 } };
}

// renderVenue: /admin/venues/new and /admin/venues/{id}.
export async function renderVenue(main, [id], ctx) {
  if (needAdmin(main, ctx)) return;
  const isNew = id === undefined;
  let venue = { name: '', city: '', time_zone: 'UTC', design: { stage: { x: 400, y: 10, width: 200, height: 40 }, sections: [] } };
  let editable = true;
  if (!isNew) {
    const v = await get(`/api/admin/venues/${id}`);
    venue = { name: v.name, city: v.city, time_zone: v.time_zone, design: v.design, layout: v.design ? undefined : v.layout };
    editable = v.editable;
  }

  const title = h('h1', {}, isNew ? 'New venue' : `Venue: ${venue.name}`);
  const alert = h('div', { role: 'alert', class: 'error', 'data-testid': 'venue-alert' });
  const summary = h('p', { class: 'muted', 'data-testid': 'venue-summary', 'aria-live': 'polite' });
  const tip = h('p', { class: 'muted', 'data-testid': 'preview-tip' }, 'Point at a seat to see its row, number and type.');
  const canvasBox = h('div', { class: 'map-wrap map-readonly venue-preview' });
  const form = h('div', { class: 'venue-form' });
  const inUse = h('p', { class: 'error', 'data-testid': 'venue-in-use', hidden: editable });
  inUse.textContent = 'An event uses this venue, so it can no longer change: create a new venue instead.';

  // Inputs bound to a value of the venue or the design. path is the
  // value's path in the API's error messages.
  const input = (label, path, get_, set, attrs = {}) => {
    const el = h('input', { ...attrs, 'data-field': path, id: `f-${path}`, value: get_() ?? '' });
    el.addEventListener('input', () => { set(attrs.type === 'number' ? (el.value === '' ? 0 : Number(el.value)) : el.value); changed(); });
    return h('label', { class: 'field' }, h('span', {}, label), el, h('span', { class: 'field-error', 'data-error-for': path }));
  };
  const select = (label, path, options, get_, set) => {
    const el = h('select', { 'data-field': path, id: `f-${path}` }, Object.entries(options).map(([v, t]) => h('option', { value: v, selected: get_() === v }, t)));
    el.addEventListener('change', () => { set(el.value); changed(); });
    return h('label', { class: 'field' }, h('span', {}, label), el, h('span', { class: 'field-error', 'data-error-for': path }));
  };
  const num = { type: 'number', step: 'any' };

  const renderForm = () => {
    const d = venue.design;
    if (!d) {
      form.replaceChildren(h('p', { class: 'muted' }, 'This venue was made from a preset or an uploaded layout, not with the builder: it can be exported, or replaced by importing a design.'));
      return;
    }
    const place = h('fieldset', {}, h('legend', {}, 'Venue'),
      input('Name', 'name', () => venue.name, (v) => { venue.name = v; }, { required: true, maxlength: 100 }),
      input('City', 'city', () => venue.city, (v) => { venue.city = v; }),
      input('Time zone', 'time_zone', () => venue.time_zone, (v) => { venue.time_zone = v; }));
    const stageOn = h('input', { type: 'checkbox', id: 'stage-on', checked: Boolean(d.stage) });
    stageOn.addEventListener('change', () => { d.stage = stageOn.checked ? { x: 400, y: 10, width: 200, height: 40 } : undefined; renderForm(); changed(); });
    const stage = h('fieldset', { 'data-field': 'stage' }, h('legend', {}, 'Stage'),
      h('label', {}, stageOn, ' The venue has a stage'),
      d.stage ? ['x', 'y', 'width', 'height'].map((k) => input(k, `stage.${k}`, () => d.stage[k], (v) => { d.stage[k] = v; }, num)) : [],
      h('span', { class: 'field-error', 'data-error-for': 'stage' }));
    const sections = d.sections.map((s, i) => sectionForm(s, i));
    const addSeated = h('button', { type: 'button', 'data-action': 'add-seated' }, 'Add seated section');
    addSeated.addEventListener('click', () => { d.sections.push(newSeated(d)); renderForm(); changed(); });
    const addGA = h('button', { type: 'button', 'data-action': 'add-ga' }, 'Add standing area');
    addGA.addEventListener('click', () => { d.sections.push(newStanding(d)); renderForm(); changed(); });
    form.replaceChildren(place, stage, ...sections, h('span', { class: 'field-error', 'data-error-for': 'sections' }), h('div', { class: 'row' }, addSeated, addGA));
  };

  const sectionForm = (s, i) => {
    const p = `sections[${i}]`;
    const remove = h('button', { type: 'button', class: 'danger', 'data-action': 'remove-section' }, 'Remove section');
    remove.addEventListener('click', () => { venue.design.sections.splice(i, 1); renderForm(); changed(); });
    const common = [
      input('Id (short, used in price keys)', `${p}.id`, () => s.id, (v) => { s.id = v; }, { maxlength: 32 }),
      input('Name', `${p}.name`, () => s.name, (v) => { s.name = v; }),
      input('Price tier (empty: the id)', `${p}.tier`, () => s.tier, (v) => { s.tier = v; }),
    ];
    if (s.kind === 'ga') {
      return h('fieldset', { class: 'venue-section', 'data-field': p, 'data-section': String(i) },
        h('legend', {}, `Standing area ${s.id}`), h('span', { class: 'field-error', 'data-error-for': p }),
        ...common,
        input('Capacity', `${p}.capacity`, () => s.capacity, (v) => { s.capacity = v; }, { type: 'number', min: 1 }),
        ['x', 'y', 'width', 'height'].map((k) => input(`Area ${k}`, `${p}.area.${k}`, () => s.area[k], (v) => { s.area[k] = v; }, num)),
        h('span', { class: 'field-error', 'data-error-for': `${p}.area` }),
        h('div', { class: 'row' }, remove));
    }
    s.seat_types ||= [];
    const ranges = s.seat_types.map((r, j) => {
      const q = `${p}.seat_types[${j}]`;
      const drop = h('button', { type: 'button', 'data-action': 'remove-range' }, 'Remove');
      drop.addEventListener('click', () => { s.seat_types.splice(j, 1); renderForm(); changed(); });
      return h('div', { class: 'row seat-range', 'data-field': q },
        select('Type', `${q}.type`, { accessible: 'accessible', companion: 'companion', restricted_view: 'restricted view', vip: 'VIP', standard: 'standard' }, () => r.type, (v) => { r.type = v; }),
        input('Row (empty: every row)', `${q}.row`, () => r.row, (v) => { r.row = v; }, { maxlength: 8, size: 4 }),
        input('From seat', `${q}.from`, () => r.from, (v) => { r.from = v; }, { type: 'number', min: 1 }),
        input('To seat', `${q}.to`, () => r.to, (v) => { r.to = v; }, { type: 'number', min: 1 }),
        drop);
    });
    const addRange = h('button', { type: 'button', 'data-action': 'add-range' }, 'Add seat type range');
    addRange.addEventListener('click', () => { s.seat_types.push({ type: 'accessible', row: '', from: 1, to: 1 }); renderForm(); changed(); });
    return h('fieldset', { class: 'venue-section', 'data-field': p, 'data-section': String(i) },
      h('legend', {}, `Seated section ${s.id}`), h('span', { class: 'field-error', 'data-error-for': p }),
      ...common,
      input('Rows', `${p}.rows`, () => s.rows, (v) => { s.rows = v; }, { type: 'number', min: 1 }),
      input('Seats per row', `${p}.seats_per_row`, () => s.seats_per_row, (v) => { s.seats_per_row = v; }, { type: 'number', min: 1 }),
      select('Row labels', `${p}.row_labels`, { letters: 'A, B, C… (no I, O)', numbers: '1, 2, 3…' }, () => s.row_labels || 'letters', (v) => { s.row_labels = v; }),
      input('Front row centre x', `${p}.x`, () => s.x, (v) => { s.x = v; }, num),
      input('Front row centre y', `${p}.y`, () => s.y, (v) => { s.y = v; }, num),
      input('Curve (row ends set back by)', `${p}.curve`, () => s.curve, (v) => { s.curve = v; }, num),
      input('Seat pitch (0: 10)', `${p}.pitch`, () => s.pitch, (v) => { s.pitch = v; }, num),
      input('Row spacing (0: 12)', `${p}.row_spacing`, () => s.row_spacing, (v) => { s.row_spacing = v; }, num),
      h('div', { class: 'seat-ranges' }, h('h3', {}, 'Seat types'), ...ranges, h('span', { class: 'field-error', 'data-error-for': `${p}.seat_types` }), addRange),
      h('div', { class: 'row' }, remove));
  };

  // Errors: each at its field, or at the nearest enclosing part of the
  // form its path names (sections[1] for an overlap), or above the form.
  const clearErrors = () => {
    alert.replaceChildren();
    for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  };
  const showErrors = (err) => {
    clearErrors();
    const list = err.details?.errors || [{ field: err.details?.field || '', message: err.details?.detail || err.message }];
    const unplaced = [];
    for (const e of list) {
      let path = e.field || '';
      let slot = null;
      while (path) {
        slot = form.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
        if (slot) break;
        path = parentPath(path);
      }
      if (!slot) { unplaced.push(e); continue; }
      slot.textContent = slot.textContent ? `${slot.textContent}; ${e.message}` : e.message;
      form.querySelector(`[data-field="${CSS.escape(path)}"]`)?.setAttribute('aria-invalid', 'true');
    }
    if (unplaced.length) alert.replaceChildren(...unplaced.map((e) => h('p', {}, e.field ? `${e.field}: ${e.message}` : e.message)));
    summary.textContent = `${list.length} problem${list.length === 1 ? '' : 's'} to fix.`;
  };

  // The preview: the server builds the design; the fans' seat map draws it.
  let timer = null, seq = 0;
  const preview = async () => {
    if (!venue.design) return;
    const mine = ++seq;
    // Nothing to build yet: said here rather than refused by the server.
    if (!venue.design.sections?.length) {
      canvasBox.replaceChildren();
      summary.textContent = 'Add a seated section or a standing area to see the preview.';
      return;
    }
    let built;
    try {
      built = await api('POST', '/api/admin/venues/preview', { design: venue.design });
    } catch (e) {
      if (mine === seq) { if (e.status === 422) showErrors(e); else alert.textContent = e.message; }
      return;
    }
    if (mine !== seq) return;
    clearErrors();
    drawPreview(built);
  };
  const drawPreview = (built) => {
    const canvas = h('canvas', { class: 'seatmap', 'data-testid': 'venue-canvas', tabindex: 0, 'aria-label': 'Preview of the venue' });
    canvasBox.replaceChildren(canvas);
    const seats = built.seats;
    const view = new SeatMapView(canvas, { sections: built.sections, seats, stage: built.stage }, {
      onHover: (i) => {
        if (i < 0) return;
        const s = seats[i];
        tip.textContent = `${s.section} · row ${s.row} · seat ${s.number} · ${seatTypeNames[s.type] || s.type}`;
      },
    });
    view.setStatuses('a'.repeat(seats.length));
    const special = [];
    const counts = {};
    let standing = 0;
    const ga = new Set(built.sections.filter((s) => s.kind === 'ga').map((s) => s.id));
    seats.forEach((s, i) => {
      if (ga.has(s.section)) { standing++; return; }
      counts[s.type] = (counts[s.type] || 0) + 1;
      if (s.type !== 'standard') special.push(i);
    });
    view.setHighlighted(special);
    const seated = seats.length - standing;
    const parts = Object.entries(counts).map(([t, n]) => `${n} ${seatTypeNames[t] || t}`);
    summary.textContent = `${built.capacity} places: ${seated} seats (${parts.join(', ') || 'none'}), ${standing} standing.`;
    window.__venuePreview = { view, built };
  };
  const changed = () => { clearTimeout(timer); timer = setTimeout(preview, previewDelayMs); };

  // Save, export, import.
  const body = () => ({ name: venue.name, city: venue.city, time_zone: venue.time_zone, ...(venue.design ? { design: venue.design } : { layout: venue.layout }) });
  const save = h('button', { type: 'button', 'data-action': 'save' }, 'Save venue');
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      const v = isNew ? await api('POST', '/api/admin/venues', body()) : await api('PUT', `/api/admin/venues/${id}`, body());
      clearErrors();
      toast(`Saved: ${v.capacity} places`);
      if (isNew) ctx.navigate(`/admin/venues/${v.id}`, true);
    } catch (e) {
      if (e.status === 422 && e.code === 'invalid_layout') showErrors(e);
      else {
        alert.replaceChildren(h('p', { 'data-code': e.code }, e.message));
        if (e.code === 'venue_in_use') inUse.hidden = false;
      }
    } finally { save.disabled = false; }
  });
  const exportBtn = h('button', { type: 'button', 'data-action': 'export' }, 'Export JSON');
  exportBtn.addEventListener('click', () => {
    const blob = new Blob([JSON.stringify(body(), null, 2)], { type: 'application/json' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `${(venue.name || 'venue').replace(/[^\w-]+/g, '-')}.json` });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
  const importText = h('textarea', { id: 'import-json', rows: 4, cols: 40, placeholder: 'Paste exported JSON here' });
  const importFile = h('input', { type: 'file', id: 'import-file', accept: 'application/json,.json' });
  const load = (text) => {
    let data;
    try { data = JSON.parse(text); } catch (e) { alert.textContent = `Import: not JSON (${e.message})`; return; }
    const design = data?.design || (Array.isArray(data?.sections) && !data.seats ? data : null);
    if (!design || !Array.isArray(design.sections)) { alert.textContent = 'Import: the JSON holds no design (an object with sections, or {"design": ...}).'; return; }
    venue = { name: data.name ?? venue.name, city: data.city ?? venue.city, time_zone: data.time_zone ?? venue.time_zone, design };
    renderForm(); clearErrors(); preview();
    toast('Design imported: check the preview, then save');
  };
  const importBtn = h('button', { type: 'button', 'data-action': 'import' }, 'Import pasted JSON');
  importBtn.addEventListener('click', () => load(importText.value));
  importFile.addEventListener('change', async () => { if (importFile.files[0]) load(await importFile.files[0].text()); });

  main.append(title,
    h('p', {}, h('a', { href: '/admin/venues', 'data-link': true }, 'All venues')),
    inUse, alert,
    h('div', { class: 'venue-builder' },
      h('div', {}, form,
        h('section', { class: 'card' }, h('h2', {}, 'Import and export'),
          h('div', { class: 'row' }, exportBtn),
          h('label', { for: 'import-file' }, 'Import a file '), importFile,
          h('div', {}, h('label', { for: 'import-json' }, 'or paste it'), importText, importBtn))),
      h('section', { class: 'card venue-preview-card' }, h('h2', {}, 'Preview'), summary, canvasBox, tip,
        h('div', { class: 'row' }, save))));
  renderForm();
  if (venue.design) await preview();
  return () => clearTimeout(timer);
}
