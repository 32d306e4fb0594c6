// The waiting room: solve the proof of work (in a Web Worker, with progress),
// join, watch the line move, and go to the seat map when admitted.
import { get } from '../api.js';
import { h, dateTime } from '../format.js';
import { joinQueue, etaFromFrame } from '../../queue.js';
import { presaleCard } from '../presale.js';

export async function render(main, [eventId], ctx) {
  if (!ctx.account) { ctx.navigate(`/signin?next=${encodeURIComponent(location.pathname)}`, true); return; }
  let ev;
  try { ev = await get(`/api/events/${eventId}`); } catch (err) {
    main.append(h('h1', {}, 'Waiting room'), h('p', { class: 'error' }, err.message));
    return;
  }
  const state = h('p', { 'aria-live': 'polite' }, 'Getting your place…');
  const bar = h('div', {});
  const progress = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 }, bar);
  const detail = h('p', { class: 'muted' });
  // A presale code moves the fan to the window's own line: its fans queue
  // among themselves, apart from the general sale's.
  const presale = await presaleCard(eventId, ev, ctx, () => rejoin());
  // The fan's entry in the public proof of the pre-queue's draw, with the
  // page that redoes the draw (docs/fairness.md).
  const fair = h('p', { class: 'muted', hidden: true });
  main.append(h('h1', {}, ev.name), presale?.card || '', h('div', { class: 'card' }, h('h2', {}, 'Waiting room'), state, progress, detail, fair));
  const setProgress = (pct) => { bar.style.width = `${pct}%`; progress.setAttribute('aria-valuenow', Math.round(pct)); };

  let stopped = false, timer = null, firstPosition = null, number = null, ws = null, done = false;
  // room is the presale window whose line the fan is in ('' : the general
  // sale's); frames of the other lines are not ours.
  let room = '';
  const ours = (f) => String(f.presale || '') === room;
  const tokenKey = `admission:${eventId}`;

  async function join() {
    // Ask for our place only if this browser joined before (asking when we
    // never joined would be a 404); joining again returns the same place.
    const joinedKey = `queued:${eventId}`;
    let me = sessionStorage.getItem(joinedKey) ? await get(`/api/events/${eventId}/queue/me`).catch(() => null) : null;
    if (!me || me.state === 'expired') {
      state.textContent = 'Proving you are a person (a few seconds of work for your device)…';
      // Progress of the proof of work fills the first 30% of the bar: about
      // 2^difficulty tries are expected (a surge may raise the difficulty,
      // then the bar waits at 30%).
      const expected = 2 ** ((ev.waiting_room && ev.waiting_room.pow_difficulty) || 16);
      me = await joinQueue(eventId, { onProgress: (tried) => setProgress(30 * Math.min(1, tried / expected)) });
      sessionStorage.setItem(joinedKey, '1');
    }
    number = me.number || null;
    room = String(me.presale || '');
    if (!ws) listen();
    poll(me);
  }

  // rejoin takes the fan's place in the line of the presale window their
  // code just let them into.
  function rejoin() {
    sessionStorage.removeItem(`queued:${eventId}`);
    clearTimeout(timer);
    firstPosition = null;
    number = null;
    join().catch((err) => { state.className = 'error'; state.textContent = `Could not join the presale line: ${err.message}`; });
  }

  // listen follows the serving cursor over the socket: one frame per
  // admitter tick for everyone, from which the page computes its own
  // position and ETA; an `admitted` frame on the fan's own channel lets it
  // in at once. /queue/me polls (slower) keep the heartbeat and cover a
  // socket that cannot connect.
  function listen() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    try { ws = new WebSocket(`${proto}//${location.host}/ws`); } catch { return; }
    ws.onopen = () => ws.send(JSON.stringify({ op: 'subscribe', topic: `event:${eventId}:queue` }));
    ws.onmessage = (e) => {
      let f;
      try { f = JSON.parse(e.data); } catch { return; }
      if (f.type === 'admitted' && String(f.event) === String(eventId) && ours(f)) {
        show({ state: 'admitted', admission_token: f.admission_token });
      } else if (f.type === 'queue' && number && ours(f)) {
        const { position, etaSeconds } = etaFromFrame(number, f);
        if (position > 0) show({ state: 'waiting', position, eta_seconds: etaSeconds });
      }
    };
    ws.onclose = () => { ws = null; };
  }

  function show(me) {
    if (done) return true;
    if (me.proof_hash && fair.hidden) {
      const q = new URLSearchParams({ event: eventId, hash: me.proof_hash });
      fair.replaceChildren(`Your proof hash: ${me.proof_hash}. `, h('a', { href: `/verify.html?${q}` }, 'Check the draw'));
      fair.hidden = false;
    }
    if (me.state === 'admitted' && me.admission_token) {
      done = true;
      sessionStorage.setItem(tokenKey, me.admission_token);
      setProgress(100);
      state.textContent = "You're in! Taking you to the seat map…";
      setTimeout(() => ctx.navigate(`/events/${eventId}`), 800);
      return true;
    }
    if (me.state === 'prequeue') {
      state.textContent = `You are in the line before the sale opens (${dateTime(ev.sale_opens, ev.time_zone)}). At the opening everyone here gets a random place: arriving early gives no advantage, and neither does refreshing.`;
      setProgress(30);
      return false;
    }
    if (firstPosition === null && me.position > 0) firstPosition = me.position;
    const pct = firstPosition ? 30 + 70 * (1 - me.position / firstPosition) : 30;
    setProgress(Math.max(30, Math.min(99, pct)));
    state.textContent = `${me.position.toLocaleString()} ${me.position === 1 ? 'person is' : 'people are'} ahead of you.`;
    detail.textContent = me.eta_seconds != null ? `Estimated wait: ${Math.ceil(me.eta_seconds / 60)} min. Keep this page open.` : '';
    return false;
  }

  async function poll(me) {
    if (stopped) return;
    if (me && show(me)) return;
    timer = setTimeout(async () => {
      const next = await get(`/api/events/${eventId}/queue/me`).catch(() => me);
      poll(next);
    }, 5000);
  }

  join().catch((err) => { state.className = 'error'; state.textContent = `Could not join the waiting room: ${err.message}`; });
  return () => { stopped = true; clearTimeout(timer); ws?.close(); presale?.stop(); };
}
