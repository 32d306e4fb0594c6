// The scanner page for staff (scanner or admin role): pick the event (and
// name the entrance) this door serves, then type or paste a code (always
// there), or point the camera at a fan's QR code where the browser has
// BarcodeDetector. Each scan asks POST /api/checkins, which admits a ticket
// of that event once; the result is shown big and announced. The event and
// entrance are remembered on this device.
import { get, post } from '../api.js';
import { h, seatLabel } from '../format.js';

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
  const result = h('div', { class: 'card scan-result', role: 'status', 'aria-live': 'assertive' }, h('p', { class: 'muted' }, 'Waiting for a code.'));
  const video = h('video', { playsinline: true, muted: true, hidden: true, 'aria-label': 'Camera view' });
  const camBtn = h('button', { type: 'button', class: 'secondary' }, 'Use camera');
  let busy = false, last = '', lastAt = 0, stream = null, timer = null;

  async function check(code, fromCamera = false) {
    code = code.trim();
    if (!code || busy) return;
    if (!eventSelect.value) { result.replaceChildren(h('p', { class: 'error' }, 'Choose the event at this door first.')); return; }
    // The camera sees the same code many times a second: ask once.
    if (fromCamera && code === last && Date.now() - lastAt < 3000) return;
    busy = true; last = code; lastAt = Date.now();
    try {
      const a = await post('/api/checkins', { code, event: eventSelect.value, entrance: entrance.value.trim() });
      result.replaceChildren(
        h('p', { class: 'scan-ok' }, '✓ Admitted'),
        h('p', {}, `${a.holder} · ${a.event_name}`),
        h('p', {}, `Section ${seatLabel(a.seat)}`));
    } catch (e) {
      const why = { already_checked_in: 'Already checked in', invalid_code: 'Not a valid ticket (unknown, expired or transferred)',
        ticket_listed: 'Listed for resale: not valid for entry', transfer_pending: 'Transfer pending: not valid for entry',
        wrong_event: `Wrong event: this ticket is for ${e.details?.event_name || 'another event'}`,
        app_code_required: 'Printed code not accepted here: show the code in the app',
        event_cancelled: 'This event was cancelled' }[e.code] || e.message;
      result.replaceChildren(h('p', { class: 'scan-bad' }, `✗ ${why}`),
        e.details?.checked_in_at ? h('p', {}, `Checked in at ${new Date(e.details.checked_in_at).toLocaleTimeString()}${e.details.entrance ? ` (${e.details.entrance})` : ''}`) : '');
    } finally {
      busy = false;
      input.value = '';
      input.focus();
    }
  }

  async function startCamera() {
    try {
      const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      camBtn.textContent = 'Stop camera';
      const loop = async () => {
        try {
          const found = await detector.detect(video);
          if (found.length) await check(found[0].rawValue, true);
        } catch { /* a frame that could not be read */ }
        timer = setTimeout(loop, 300);
      };
      loop();
    } catch (e) {
      stopCamera();
      result.replaceChildren(h('p', { class: 'error' }, `The camera is not available: ${e.message}. Type the code instead.`));
    }
  }
  function stopCamera() {
    clearTimeout(timer); timer = null;
    stream?.getTracks().forEach((t) => t.stop()); stream = null;
    video.hidden = true;
    camBtn.textContent = 'Use camera';
  }
  camBtn.addEventListener('click', () => (stream ? stopCamera() : startCamera()));

  main.append(
    h('form', { class: 'card stack', onsubmit: (e) => { e.preventDefault(); check(input.value); } },
      h('label', {}, 'Event', eventSelect),
      h('label', {}, 'Entrance (optional)', entrance),
      h('label', {}, 'Ticket code', input),
      h('button', { type: 'submit' }, 'Check in'),
      'BarcodeDetector' in window && navigator.mediaDevices ? camBtn : h('p', { class: 'muted' }, 'This browser cannot read QR codes with the camera; type or paste the code, or use a handheld scanner.')),
    video,
    result);
  input.focus();
  return stopCamera;
}
