// seatmap.js: the venue drawn on a canvas, fast enough for 50,000 seats.
//
// Seats live in typed arrays by idx. A full draw paints each state in one
// pass (one fillStyle change per state); a diff repaints only the seats it
// names, so applying 1,000 changes costs 1,000 small rectangles, not a
// frame. Hit-testing uses a uniform grid over venue coordinates. Every state
// has a colour from the Okabe–Ito palette and, once seats are large enough
// to show it, a pattern, so colour is never the only cue.
//
// A general-admission area (a section of kind "ga") is drawn as one
// rectangle around its places with the live count left, not as places:
// they are fungible, a fan picks a quantity (opts.onArea), never a place.

export const STATES = 'ahsrx'; // available, held, sold, reserved, resale (the availability letters)
const UNKNOWN = 255;
export const COLORS = { a: '#0072B2', h: '#E69F00', s: '#b4b4b4', r: '#e6e6e6', x: '#CC79A7', sel: '#009E73', unknown: '#f0f0f0', acc: '#D55E00' };
export const LABELS = { a: 'available', h: 'held', s: 'sold', r: 'held back', x: 'resale', sel: 'selected', acc: 'accessible' };

export class SeatMapView {
  // layout is GET /api/events/{e}/seatmap (or the venue builder's preview,
  // which may carry a stage rectangle). opts: onToggle(idx), onHover(idx|-1, x, y),
  // onArea(area) for a click on a ga area, canSelect(idx) → bool, announce(text).
  constructor(canvas, layout, opts = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { alpha: false });
    this.seats = layout.seats;
    this.sections = new Map(layout.sections.map((s) => [s.id, s]));
    this.opts = opts;
    const n = (this.n = layout.seats.length);
    this.xs = new Float32Array(n);
    this.ys = new Float32Array(n);
    this.state = new Uint8Array(n).fill(UNKNOWN);
    this.selected = new Set();
    // highlighted seats get a ring (the accessible-seats filter).
    this.highlighted = new Set();
    this.focusIdx = -1;
    // areas are the ga areas: {id, name, price_cents, capacity, left, box}; gaOf[idx] is the
    // area of a place, -1 for a seat.
    this.areas = layout.sections.filter((s) => s.kind === 'ga').map((s) => ({
      id: s.id, name: s.name, price_cents: s.min_price_cents, capacity: s.capacity, left: 0,
      box: { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity },
    }));
    const areaOf = new Map(this.areas.map((a, k) => [a.id, k]));
    this.gaOf = new Int16Array(n).fill(-1);
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      const s = layout.seats[i];
      this.xs[i] = s.x; this.ys[i] = s.y;
      if (s.x < minX) minX = s.x; if (s.x > maxX) maxX = s.x;
      if (s.y < minY) minY = s.y; if (s.y > maxY) maxY = s.y;
      const k = areaOf.get(s.section);
      if (k !== undefined) {
        this.gaOf[i] = k;
        const b = this.areas[k].box;
        if (s.x < b.minX) b.minX = s.x; if (s.x > b.maxX) b.maxX = s.x;
        if (s.y < b.minY) b.minY = s.y; if (s.y > b.maxY) b.maxY = s.y;
      }
    }
    // Places sit at the centres of a grid over the area: pad the box by
    // half a cell so it covers the whole area.
    for (const a of this.areas) {
      const b = a.box, pad = Math.sqrt(Math.max(1, (b.maxX - b.minX) * (b.maxY - b.minY)) / Math.max(1, a.capacity)) / 2;
      b.minX -= pad; b.minY -= pad; b.maxX += pad; b.maxY += pad;
    }
    // stage is where the layout puts the stage ({x, y, width, height}), if it says.
    this.stage = layout.stage || null;
    if (this.stage) {
      const st = this.stage;
      minX = Math.min(minX, st.x); minY = Math.min(minY, st.y);
      maxX = Math.max(maxX, st.x + st.width); maxY = Math.max(maxY, st.y + st.height);
    }
    this.bounds = { minX, minY, maxX, maxY };
    this.pitch = this.#estimatePitch();
    this.#buildGrid();
    this.scale = 1; this.tx = 0; this.ty = 0; this.dpr = 1;
    this.fullDrawPending = false;
    this.#bindInput();
    this.resize();
    this.fit();
  }

  // pitch is the typical distance between neighbours in a row.
  #estimatePitch() {
    const d = [];
    for (let i = 1; i < this.n && d.length < 2000; i += Math.max(1, Math.floor(this.n / 4000))) {
      const a = this.seats[i - 1], b = this.seats[i];
      if (this.gaOf[i] < 0 && a.section === b.section && a.row === b.row) d.push(Math.hypot(b.x - a.x, b.y - a.y));
    }
    d.sort((p, q) => p - q);
    return d.length ? d[Math.floor(d.length / 2)] || 1 : 1;
  }

  #buildGrid() {
    const cell = (this.cell = this.pitch * 2);
    const { minX, minY, maxX, maxY } = this.bounds;
    this.gw = Math.max(1, Math.ceil((maxX - minX) / cell) + 1);
    this.gh = Math.max(1, Math.ceil((maxY - minY) / cell) + 1);
    const count = new Uint32Array(this.gw * this.gh + 1);
    const cellOf = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const c = Math.floor((this.xs[i] - minX) / cell) + Math.floor((this.ys[i] - minY) / cell) * this.gw;
      cellOf[i] = c; count[c + 1]++;
    }
    for (let c = 1; c < count.length; c++) count[c] += count[c - 1];
    this.gridStart = count.slice();
    this.gridItems = new Uint32Array(this.n);
    const fill = count.slice();
    for (let i = 0; i < this.n; i++) this.gridItems[fill[cellOf[i]]++] = i;
  }

  // areaAt returns the ga area under screen point (px, py), or null.
  areaAt(px, py) {
    const wx = (px - this.tx) / this.scale, wy = (py - this.ty) / this.scale;
    return this.areas.find(({ box: b }) => wx >= b.minX && wx <= b.maxX && wy >= b.minY && wy <= b.maxY) || null;
  }

  // seatAt returns the idx of the seat under screen point (px, py), or -1.
  seatAt(px, py) {
    const wx = (px - this.tx) / this.scale, wy = (py - this.ty) / this.scale;
    const { minX, minY } = this.bounds;
    const cx = Math.floor((wx - minX) / this.cell), cy = Math.floor((wy - minY) / this.cell);
    let best = -1, bestD = (this.pitch * 0.6) ** 2;
    for (let y = cy - 1; y <= cy + 1; y++) {
      if (y < 0 || y >= this.gh) continue;
      for (let x = cx - 1; x <= cx + 1; x++) {
        if (x < 0 || x >= this.gw) continue;
        const c = x + y * this.gw;
        for (let k = this.gridStart[c]; k < this.gridStart[c + 1]; k++) {
          const i = this.gridItems[k];
          if (this.gaOf[i] >= 0) continue;
          const d = (this.xs[i] - wx) ** 2 + (this.ys[i] - wy) ** 2;
          if (d < bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  // screenOf returns the CSS-pixel centre of seat idx, for tooltips and tests.
  screenOf(idx) {
    return { x: this.xs[idx] * this.scale + this.tx, y: this.ys[idx] * this.scale + this.ty };
  }

  stateOf(idx) { return this.state[idx] === UNKNOWN ? '?' : STATES[this.state[idx]]; }

  // setStatuses takes the snapshot's one letter per seat.
  setStatuses(statuses) {
    for (let i = 0; i < this.n && i < statuses.length; i++) this.state[i] = STATES.indexOf(statuses[i]);
    for (const a of this.areas) a.left = 0;
    for (let i = 0; i < this.n; i++) if (this.gaOf[i] >= 0 && this.state[i] === 0) this.areas[this.gaOf[i]].left++;
    this.requestFullDraw();
    this.opts.onAreas?.(this.areas);
  }

  // applyChanges takes [[idx, letter], ...] already ordered by the sync
  // client (it resolves versions) and repaints just those seats; a ga
  // place changes its area's count left and repaints the area.
  applyChanges(changes) {
    const touched = new Set();
    for (const [idx, letter] of changes) {
      if (idx < 0 || idx >= this.n) continue;
      const before = this.state[idx], after = STATES.indexOf(letter);
      this.state[idx] = after;
      const k = this.gaOf[idx];
      if (k >= 0) {
        if (before === 0 && after !== 0) this.areas[k].left--;
        else if (before !== 0 && before !== UNKNOWN && after === 0) this.areas[k].left++;
        touched.add(k);
      } else if (!this.fullDrawPending) this.#drawSeat(idx, true);
    }
    if (touched.size) {
      if (!this.fullDrawPending) for (const k of touched) this.#drawArea(this.areas[k]);
      this.opts.onAreas?.(this.areas);
    }
  }

  setSelected(set) {
    const before = this.selected;
    this.selected = new Set(set);
    if (this.fullDrawPending) return;
    for (const i of before) if (!this.selected.has(i)) this.#drawSeat(i, true);
    for (const i of this.selected) if (!before.has(i)) this.#drawSeat(i, true);
  }

  // setHighlighted rings the seats of set (idx), whatever their state.
  setHighlighted(set) {
    this.highlighted = new Set(set);
    this.requestFullDraw();
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    this.dpr = window.devicePixelRatio || 1;
    this.cssW = Math.max(1, r.width); this.cssH = Math.max(1, r.height);
    this.canvas.width = Math.round(this.cssW * this.dpr);
    this.canvas.height = Math.round(this.cssH * this.dpr);
    this.requestFullDraw();
  }

  fit() {
    const { minX, minY, maxX, maxY } = this.bounds;
    const pad = this.pitch * 4;
    const w = maxX - minX + 2 * pad, h = maxY - minY + 2 * pad;
    this.scale = Math.min(this.cssW / w, (this.cssH - 24) / h);
    this.tx = (this.cssW - (maxX + minX) * this.scale) / 2;
    this.ty = 24 + (this.cssH - 24 - (maxY + minY) * this.scale) / 2; // room for the stage label
    this.minScale = this.scale * 0.8;
    this.requestFullDraw();
  }

  zoomAt(factor, px = this.cssW / 2, py = this.cssH / 2) {
    const s = Math.min(Math.max(this.scale * factor, this.minScale), this.minScale * 60);
    const f = s / this.scale;
    this.tx = px - (px - this.tx) * f;
    this.ty = py - (py - this.ty) * f;
    this.scale = s;
    this.requestFullDraw();
  }

  panBy(dx, dy) { this.tx += dx; this.ty += dy; this.requestFullDraw(); }

  requestFullDraw() {
    if (this.fullDrawPending) return;
    this.fullDrawPending = true;
    requestAnimationFrame(() => { this.fullDrawPending = false; this.draw(); });
  }

  // draw paints everything: one pass per state, then selection and focus.
  draw() {
    const c = this.ctx;
    c.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    c.fillStyle = '#ffffff';
    c.fillRect(0, 0, this.cssW, this.cssH);
    this.#drawStage();
    const size = this.seatSize();
    const half = size / 2;
    for (let st = 0; st <= STATES.length; st++) {
      const code = st === STATES.length ? UNKNOWN : st;
      c.fillStyle = code === UNKNOWN ? COLORS.unknown : COLORS[STATES[st]];
      for (let i = 0; i < this.n; i++) {
        if (this.state[i] !== code || this.gaOf[i] >= 0) continue;
        const x = this.xs[i] * this.scale + this.tx, y = this.ys[i] * this.scale + this.ty;
        if (x < -size || y < -size || x > this.cssW + size || y > this.cssH + size) continue;
        c.fillRect(x - half, y - half, size, size);
      }
    }
    if (size >= 7) for (let i = 0; i < this.n; i++) if (this.state[i] !== 0 && this.gaOf[i] < 0) this.#pattern(i, size);
    for (const a of this.areas) this.#drawArea(a);
    for (const i of this.highlighted) this.#ring(i, size);
    for (const i of this.selected) this.#drawSeat(i, false);
    if (this.focusIdx >= 0) this.#drawSeat(this.focusIdx, false);
    if (size >= 9) this.#drawSectionLabels();
  }

  // #drawArea paints a ga area: available colour while places are left,
  // sold colour with a cross once none is, and its name and count.
  #drawArea(a) {
    const c = this.ctx;
    c.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const b = a.box;
    const x = b.minX * this.scale + this.tx, y = b.minY * this.scale + this.ty;
    const w = (b.maxX - b.minX) * this.scale, hgt = (b.maxY - b.minY) * this.scale;
    c.fillStyle = a.left > 0 ? COLORS.a : COLORS.s;
    c.fillRect(x, y, w, hgt);
    c.strokeStyle = '#1b1b1f'; c.lineWidth = 1;
    c.strokeRect(x + 0.5, y + 0.5, w - 1, hgt - 1);
    if (a.left === 0) {
      c.strokeStyle = '#7a7a7a'; c.beginPath(); c.moveTo(x, y); c.lineTo(x + w, y + hgt); c.moveTo(x + w, y); c.lineTo(x, y + hgt); c.stroke();
    }
    c.fillStyle = a.left > 0 ? '#ffffff' : '#1b1b1f';
    c.textAlign = 'center';
    c.font = `${Math.max(10, Math.min(16, hgt / 5))}px system-ui, sans-serif`;
    c.fillText(a.name, x + w / 2, y + hgt / 2 - 2);
    c.fillText(this.areaText(a), x + w / 2, y + hgt / 2 + Math.max(12, Math.min(18, hgt / 4.5)));
  }

  areaText(a) { return a.left > 0 ? `${a.left.toLocaleString()} left` : 'sold out'; }

  seatSize() { return Math.max(1, this.pitch * this.scale * 0.78); }

  #drawStage() {
    const { minX, maxX, minY } = this.bounds;
    const c = this.ctx;
    if (this.stage) {
      const st = this.stage, x = st.x * this.scale + this.tx, y = st.y * this.scale + this.ty;
      const w = st.width * this.scale, hgt = st.height * this.scale;
      c.fillStyle = '#5b5b66';
      c.fillRect(x, y, w, hgt);
      c.fillStyle = '#ffffff';
      c.font = `${Math.max(10, Math.min(18, hgt / 2))}px system-ui, sans-serif`;
      c.textAlign = 'center';
      c.fillText('STAGE', x + w / 2, y + hgt / 2 + 5);
      return;
    }
    const x = ((minX + maxX) / 2) * this.scale + this.tx, y = Math.max(16, (minY - this.pitch * 3) * this.scale + this.ty);
    c.fillStyle = '#5b5b66';
    c.font = `${Math.max(10, Math.min(18, this.scale * 14))}px system-ui, sans-serif`;
    c.textAlign = 'center';
    c.fillText('STAGE', x, y);
  }

  #drawSectionLabels() {
    const c = this.ctx;
    const seen = new Map();
    for (let i = 0; i < this.n; i++) {
      if (this.gaOf[i] >= 0) continue;
      const s = this.seats[i].section;
      const e = seen.get(s) || { x: 0, y: 0, k: 0 };
      e.x += this.xs[i]; e.y += this.ys[i]; e.k++;
      seen.set(s, e);
    }
    c.fillStyle = 'rgba(27,27,31,.75)';
    c.font = '12px system-ui, sans-serif';
    c.textAlign = 'center';
    for (const [id, e] of seen) c.fillText(this.sections.get(id)?.name || id, (e.x / e.k) * this.scale + this.tx, (e.y / e.k) * this.scale + this.ty);
  }

  // #pattern marks non-available seats so colour is not the only cue:
  // held a dot, sold a cross, held back an outline, resale a ring.
  #pattern(i, size) {
    const c = this.ctx;
    const x = this.xs[i] * this.scale + this.tx, y = this.ys[i] * this.scale + this.ty;
    if (x < -size || y < -size || x > this.cssW + size || y > this.cssH + size) return;
    const r = size / 2;
    c.lineWidth = Math.max(1, size / 10);
    switch (STATES[this.state[i]]) {
      case 'h': c.fillStyle = '#5a3d00'; c.beginPath(); c.arc(x, y, r / 3, 0, 2 * Math.PI); c.fill(); break;
      case 's': c.strokeStyle = '#7a7a7a'; c.beginPath(); c.moveTo(x - r * .6, y - r * .6); c.lineTo(x + r * .6, y + r * .6);
        c.moveTo(x + r * .6, y - r * .6); c.lineTo(x - r * .6, y + r * .6); c.stroke(); break;
      case 'r': c.strokeStyle = '#9a9a9a'; c.strokeRect(x - r * .7, y - r * .7, r * 1.4, r * 1.4); break;
      case 'x': c.strokeStyle = '#ffffff'; c.beginPath(); c.arc(x, y, r / 2, 0, 2 * Math.PI); c.stroke(); break;
    }
  }

  // #ring circles a highlighted seat, large enough to find even when the
  // whole venue is on screen.
  #ring(i, size) {
    const c = this.ctx;
    const x = this.xs[i] * this.scale + this.tx, y = this.ys[i] * this.scale + this.ty;
    const r = Math.max(size * 0.8, 4);
    if (x < -r || y < -r || x > this.cssW + r || y > this.cssH + r) return;
    c.strokeStyle = COLORS.acc; c.lineWidth = Math.max(1.5, size / 6);
    c.beginPath(); c.arc(x, y, r, 0, 2 * Math.PI); c.stroke();
  }

  // #drawSeat repaints one seat in place; clear first when it changed.
  #drawSeat(i, clear) {
    const c = this.ctx;
    c.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const size = this.seatSize(), half = size / 2;
    const x = this.xs[i] * this.scale + this.tx, y = this.ys[i] * this.scale + this.ty;
    if (clear) { c.fillStyle = '#ffffff'; c.fillRect(x - half, y - half, size, size); }
    const st = this.state[i];
    c.fillStyle = this.selected.has(i) ? COLORS.sel : st === UNKNOWN ? COLORS.unknown : COLORS[STATES[st]];
    c.fillRect(x - half, y - half, size, size);
    if (size >= 7 && st !== 0 && !this.selected.has(i)) this.#pattern(i, size);
    if (this.selected.has(i) && size >= 4) {
      c.strokeStyle = '#00382a'; c.lineWidth = Math.max(1, size / 8);
      c.strokeRect(x - half + c.lineWidth / 2, y - half + c.lineWidth / 2, size - c.lineWidth, size - c.lineWidth);
    }
    if (this.highlighted.has(i)) this.#ring(i, size);
    if (i === this.focusIdx) {
      c.strokeStyle = '#000'; c.lineWidth = 2;
      c.strokeRect(x - half - 2, y - half - 2, size + 4, size + 4);
    }
  }

  describe(i) {
    const s = this.seats[i];
    const sec = this.sections.get(s.section);
    const state = this.selected.has(i) ? 'selected' : LABELS[this.stateOf(i)] || 'loading';
    return `${sec?.name || s.section}, row ${s.row}, seat ${s.number}, ${s.type}, ${(s.price_cents / 100).toFixed(2)}, ${state}`;
  }

  #moveFocus(i) {
    if (i < 0 || i >= this.n) return;
    const prev = this.focusIdx;
    this.focusIdx = i;
    const p = this.screenOf(i);
    if (p.x < 20 || p.y < 20 || p.x > this.cssW - 20 || p.y > this.cssH - 20) {
      this.panBy(this.cssW / 2 - p.x, this.cssH / 2 - p.y);
    } else {
      if (prev >= 0) this.#drawSeat(prev, true);
      this.#drawSeat(i, false);
    }
    this.opts.announce?.(this.describe(i));
  }

  // #nearestInDirection finds the closest seat in a direction (dy = ±1 rows).
  #nearestInDirection(from, dx, dy) {
    const x0 = this.xs[from], y0 = this.ys[from];
    let best = -1, bestD = Infinity;
    for (let i = 0; i < this.n; i++) {
      const ddx = this.xs[i] - x0, ddy = this.ys[i] - y0;
      if ((dx && Math.sign(ddx) !== dx) || (dy && Math.sign(ddy) !== dy)) continue;
      const along = dx ? Math.abs(ddx) : Math.abs(ddy), across = dx ? Math.abs(ddy) : Math.abs(ddx);
      if (along < this.pitch * 0.3 || this.gaOf[i] >= 0) continue;
      const d = along + across * 3;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  #bindInput() {
    const cv = this.canvas;
    const pointers = new Map();
    let dragged = false, pinchDist = 0;
    const local = (e) => { const r = cv.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; };
    cv.addEventListener('pointerdown', (e) => {
      cv.setPointerCapture(e.pointerId);
      pointers.set(e.pointerId, local(e));
      dragged = false;
      if (pointers.size === 2) { const [a, b] = [...pointers.values()]; pinchDist = Math.hypot(a.x - b.x, a.y - b.y); }
    });
    cv.addEventListener('pointermove', (e) => {
      const p = local(e);
      if (!pointers.has(e.pointerId)) {
        const a = this.areaAt(p.x, p.y);
        if (a) { this.opts.onHoverArea?.(a, p.x, p.y); return; }
        const i = this.seatAt(p.x, p.y);
        this.opts.onHover?.(i, p.x, p.y);
        return;
      }
      const prev = pointers.get(e.pointerId);
      pointers.set(e.pointerId, p);
      if (pointers.size === 1) {
        if (Math.abs(p.x - prev.x) + Math.abs(p.y - prev.y) > 0) dragged = dragged || Math.hypot(p.x - prev.x, p.y - prev.y) > 3;
        if (dragged) this.panBy(p.x - prev.x, p.y - prev.y);
      } else if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        const d = Math.hypot(a.x - b.x, a.y - b.y);
        if (pinchDist > 0) this.zoomAt(d / pinchDist, (a.x + b.x) / 2, (a.y + b.y) / 2);
        pinchDist = d; dragged = true;
      }
    });
    const up = (e) => {
      const p = pointers.get(e.pointerId);
      pointers.delete(e.pointerId);
      if (pointers.size < 2) pinchDist = 0;
      if (p && !dragged && e.type === 'pointerup') {
        const a = this.areaAt(p.x, p.y);
        if (a) { this.opts.onArea?.(a); return; }
        const i = this.seatAt(p.x, p.y);
        if (i >= 0) this.opts.onToggle?.(i);
      }
    };
    cv.addEventListener('pointerup', up);
    cv.addEventListener('pointercancel', up);
    cv.addEventListener('pointerleave', () => this.opts.onHover?.(-1));
    cv.addEventListener('wheel', (e) => {
      e.preventDefault();
      const p = local(e);
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), p.x, p.y);
    }, { passive: false });
    cv.addEventListener('keydown', (e) => {
      const f = this.focusIdx >= 0 ? this.focusIdx : this.#firstAvailable();
      let next = -1;
      switch (e.key) {
        case 'ArrowRight': next = this.#sameRow(f, 1) ?? this.#nearestInDirection(f, 1, 0); break;
        case 'ArrowLeft': next = this.#sameRow(f, -1) ?? this.#nearestInDirection(f, -1, 0); break;
        case 'ArrowDown': next = this.#nearestInDirection(f, 0, 1); break;
        case 'ArrowUp': next = this.#nearestInDirection(f, 0, -1); break;
        case 'Enter': case ' ': if (this.focusIdx >= 0) this.opts.onToggle?.(this.focusIdx); else next = f; break;
        case '+': case '=': this.zoomAt(1.4); break;
        case '-': this.zoomAt(1 / 1.4); break;
        case '0': this.fit(); break;
        default: return;
      }
      e.preventDefault();
      if (next >= 0) this.#moveFocus(next);
    });
    cv.addEventListener('focus', () => { if (this.focusIdx < 0) this.opts.announce?.('Seat map. Arrow keys move between seats, Enter selects, plus and minus zoom.'); });
    new ResizeObserver(() => this.resize()).observe(cv);
  }

  #sameRow(i, d) {
    const j = i + d;
    if (j < 0 || j >= this.n) return null;
    const a = this.seats[i], b = this.seats[j];
    return a.section === b.section && a.row === b.row ? j : null;
  }

  #firstAvailable() {
    for (let i = 0; i < this.n; i++) if (this.state[i] === 0 && this.gaOf[i] < 0) return i;
    return 0;
  }
}
