// The scanner page for staff (scanner or admin role): pick the event (and
// name the entrance) this door serves, then type or paste a code (always
// there), or point the camera at a fan's QR code (BarcodeDetector where the
// browser has it, else the vendored jsQR decoder). Each scan asks POST
// /api/checkins, which admits a ticket of that event once; the result is
// shown big (green admitted, red refused with why, amber pending), sounded
// and announced. Without a network the scans wait on this device
// (scanqueue.js) and are checked, in order, once it is back: a waiting
// scan is never shown as admitted. The event and entrance are remembered
// on this device.
import { get, post } from '../api.js';
import { h, seatLabel } from '../format.js';
import { cameraAvailable, decoderName, startCamera } from '../qrcamera.js';
import { queueScan, queuedScans, syncScans } from '../scanqueue.js';

// repeatWindow is how long the camera ignores the code it just read.
const repeatWindow = 5000;

// syncEvery is how often waiting scans are retried while the browser says
// it is online but the server was not reachable.
const syncEvery = 5000;

// refusalText says why a scan did not admit, in the door's words.
function refusalText(e) {
  return {
    already_checked_in: 'Already checked in', invalid_code: 'Not a valid ticket (unknown, expired or transferred)',
    ticket_listed: 'Listed for resale: not valid for entry', transfer_pending: 'Transfer pending: not valid for entry',
    wrong_event: `Wrong event: this ticket is for ${e.details?.event_name || 'another event'}`,
    app_code_required: 'Printed code not accepted here: show the code in the app',
    event_cancelled: 'This event was cancelled',
    validation_failed: e.details?.fields?.scanned_at ? 'Scanned too long ago to check: scan the ticket again' : e.message,
  }[e.code] || e.message;
}

function checkedInText(e) {
  const d = e.details || {};
  if (!d.checked_in_at) return '';
  return `Checked in at ${new Date(d.checked_in_at).toLocaleTimeString()}${d.entrance ? ` (${d.entrance})` : ''}`;
}

// beeper sounds a scan's result with WebAudio: two rising beeps for
// admitted, a low buzz for refused, one soft beep for queued. The audio
// context starts on the first tap (browsers refuse sound before one).
function beeper() {
  let ctx = null;
  const tone = (freq, start, dur, type = 'sine') => {
    const o = ctx.createOscillator(), g = ctx.createGain();
    o.type = type;
    o.frequency.value = freq;
    g.gain.setValueAtTime(0.25, ctx.currentTime + start);
    g.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + start + dur);
    o.connect(g).connect(ctx.destination);
    o.start(ctx.currentTime + start);
    o.stop(ctx.currentTime + start + dur);
  };
  return {
    unlock() {
      try { ctx ??= new AudioContext(); if (ctx.state === 'suspended') ctx.resume(); } catch { ctx = null; }
    },
    play(kind) {
      if (!ctx || ctx.state !== 'running') return;
      if (kind === 'ok') { tone(880, 0, 0.12); tone(1320, 0.14, 0.16); }
      if (kind === 'bad') tone(180, 0, 0.5, 'square');
      if (kind === 'pending') tone(600, 0, 0.15);
    },
  };
}

export async function render(main, _params, ctx) {
  if (!ctx.account) { ctx.navigate('/signin?next=/scan', true); return; }
  main.append(h('h1', {}, 'Scan tickets'));
  if (ctx.account.role !== 'scanner' && ctx.account.role !== 'admin') {
    main.append(h('p', { class: 'error' }, 'Scanning needs a scanner account. Ask an admin to run: boxoffice admin grant EMAIL scanner'));
    return;
  }
  let events = [];
  // Shows that started in the last day too: the doors stay open after the
  // start time, when the public list has dropped the event.
  const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  try { events = await get(`/api/events?from=${encodeURIComponent(since)}&limit=100`); } catch { /* shown as an empty choice */ }
  const eventSelect = h('select', { name: 'event', required: true, 'aria-label': 'Event' },
    h('option', { value: '' }, 'Choose the event at this door'),
    ...events.filter((ev) => ev.status !== 'cancelled').map((ev) => h('option', { value: ev.id }, ev.name)));
  eventSelect.value = localStorage.getItem('scan.event') || '';
  const entrance = h('input', { name: 'entrance', autocomplete: 'off', maxlength: 64, 'aria-label': 'Entrance', value: localStorage.getItem('scan.entrance') || '' });
  eventSelect.addEventListener('change', () => localStorage.setItem('scan.event', eventSelect.value));
  entrance.addEventListener('change', () => localStorage.setItem('scan.entrance', entrance.value.trim()));
  const input = h('input', { name: 'code', autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', required: true, 'aria-label': 'Ticket code' });
  const result = h('div', { class: 'card scan-result', role: 'status', 'aria-live': 'assertive', 'data-result': 'none' }, h('p', { class: 'muted' }, 'Waiting for a code.'));
  const netStatus = h('p', { class: 'net-status', 'data-testid': 'net-status' });
  const syncedList = h('ul', { class: 'synced', 'aria-label': 'Scans checked after reconnecting' });
  const synced = h('section', { class: 'card', hidden: true }, h('h2', {}, 'Checked after reconnecting'), syncedList);
  const video = h('video', { playsinline: true, muted: true, hidden: true, 'aria-label': 'Camera view' });
  const camBtn = h('button', { type: 'button', class: 'secondary' }, 'Use camera');
  const sound = beeper();
  let busy = false, last = '', lastAt = 0, stopCam = null;

  const show = (kind, ...lines) => {
    result.dataset.result = kind;
    result.className = `card scan-result scan-result-${kind}`;
    result.replaceChildren(...lines.filter(Boolean).map((l) => (typeof l === 'string' ? h('p', {}, l) : l)));
    sound.play(kind);
  };

  const showNet = () => {
    const waiting = queuedScans().length;
    const online = navigator.onLine;
    netStatus.className = `net-status ${online ? 'net-online' : 'net-offline'}`;
    netStatus.dataset.online = String(online);
    netStatus.textContent = online
      ? `Online${waiting ? ` · ${waiting} scan${waiting === 1 ? '' : 's'} waiting to be checked` : ''}`
      : `OFFLINE: scans are kept on this device and checked when the network is back${waiting ? ` · ${waiting} waiting` : ''}`;
  };

  const queued = (scan) => {
    let fresh;
    try { fresh = queueScan(scan); } catch (e) { show('bad', h('p', { class: 'scan-bad' }, '✗ Not saved'), e.message); return; }
    show('pending', h('p', { class: 'scan-pending' }, 'Pending: will be checked when online'),
      fresh ? `Scanned offline at ${new Date(scan.scanned_at).toLocaleTimeString()}. Not checked yet: this is not an admission.`
        : 'This code is already waiting on this device.');
    showNet();
  };

  // A waiting scan the server has now answered goes on the list, newest first.
  const onSynced = (scan, a, e) => {
    const when = `scanned ${new Date(scan.scanned_at).toLocaleTimeString()}`;
    const li = a
      ? h('li', { class: 'scan-ok-line', 'data-outcome': 'admitted' }, `✓ Admitted: ${a.holder}, Section ${seatLabel(a.seat)} (${when})`)
      : h('li', { class: 'scan-bad-line', 'data-outcome': e.code === 'already_checked_in' ? 'already_in' : 'refused' },
        `✗ ${e.code === 'already_checked_in' ? 'Already in' : refusalText(e)}${checkedInText(e) ? `: ${checkedInText(e)}` : ''} (${when})`);
    syncedList.prepend(li);
    synced.hidden = false;
    showNet();
  };
  const sync = async () => {
    if (!navigator.onLine || !queuedScans().length) { showNet(); return; }
    await syncScans(onSynced);
    // The pending card is answered now: point at the answers.
    if (!queuedScans().length && result.dataset.result === 'pending') {
      show('none', h('p', {}, 'The scans made offline are checked: see “Checked after reconnecting”.'));
    }
    showNet();
  };

  async function check(code, fromCamera = false) {
    code = code.trim();
    if (!code || busy) return;
    if (!eventSelect.value) { show('bad', h('p', { class: 'error' }, 'Choose the event at this door first.')); return; }
    // The camera sees the same code many times a second: ask once.
    if (fromCamera && code === last && Date.now() - lastAt < repeatWindow) return;
    busy = true; last = code; lastAt = Date.now();
    const scan = { code, event: eventSelect.value, entrance: entrance.value.trim(), scanned_at: new Date().toISOString() };
    try {
      if (!navigator.onLine) { queued(scan); return; }
      const a = await post('/api/checkins', { code, event: scan.event, entrance: scan.entrance });
      show('ok', h('p', { class: 'scan-ok' }, '✓ Admitted'), `${a.holder} · ${a.event_name}`, `Section ${seatLabel(a.seat)}`);
      if (queuedScans().length) sync();
    } catch (e) {
      if (e.code === 'network') queued(scan);
      else show('bad', h('p', { class: 'scan-bad' }, `✗ ${refusalText(e)}`), checkedInText(e));
    } finally {
      busy = false;
      input.value = '';
      if (!fromCamera) input.focus();
    }
  }

  const stopCamera = () => {
    stopCam?.(); stopCam = null;
    camBtn.textContent = 'Use camera';
  };
  camBtn.addEventListener('click', async () => {
    sound.unlock();
    if (stopCam) { stopCamera(); return; }
    camBtn.disabled = true;
    try {
      stopCam = await startCamera(video, (code) => check(code, true));
      camBtn.textContent = 'Stop camera';
    } catch (e) {
      show('bad', h('p', { class: 'error' }, `The camera is not available: ${e.message}. Type the code instead.`));
    } finally { camBtn.disabled = false; }
  });

  const onOnline = () => { showNet(); sync(); };
  window.addEventListener('online', onOnline);
  window.addEventListener('offline', showNet);
  const timer = setInterval(() => { if (queuedScans().length) sync(); }, syncEvery);

  main.append(
    netStatus,
    h('form', { class: 'card stack', onsubmit: (e) => { e.preventDefault(); sound.unlock(); check(input.value); } },
      h('label', {}, 'Event', eventSelect),
      h('label', {}, 'Entrance (optional)', entrance),
      h('label', {}, 'Ticket code', input),
      h('button', { type: 'submit' }, 'Check in'),
      cameraAvailable() ? h('p', {}, camBtn, ' ', h('span', { class: 'muted', 'data-testid': 'decoder' }, `QR reader: ${decoderName()}`))
        : h('p', { class: 'muted' }, 'This browser cannot open a camera; type or paste the code, or use a handheld scanner.')),
    video,
    result,
    synced);
  showNet();
  sync();
  input.focus();
  return () => {
    stopCamera();
    clearInterval(timer);
    window.removeEventListener('online', onOnline);
    window.removeEventListener('offline', showNet);
  };
}
