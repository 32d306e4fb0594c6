// live.js: keeps a seat map in step with the server. Until the realtime
// socket client is wired in, it polls the availability snapshot; callers only
// see onSnapshot(statuses) and onChanges([[idx, letter], ...]).

export function followSeats(eventId, { onSnapshot, onChanges, intervalMs = 1000 }) {
  let stopped = false, last = null, timer = null;
  async function poll() {
    if (stopped) return;
    try {
      const res = await fetch(`/api/events/${eventId}/availability`, { credentials: 'same-origin' });
      if (res.ok) {
        const snap = await res.json();
        if (last === null || last.length !== snap.statuses.length) {
          onSnapshot(snap.statuses);
        } else {
          const changes = [];
          for (let i = 0; i < snap.statuses.length; i++) if (snap.statuses[i] !== last[i]) changes.push([i, snap.statuses[i]]);
          if (changes.length) onChanges(changes);
        }
        last = snap.statuses;
      }
    } catch { /* offline for a moment: the next poll catches up */ }
    if (!stopped) timer = setTimeout(poll, intervalMs);
  }
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}
