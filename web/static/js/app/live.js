// live.js: keeps a page's seat map in step with the server through the
// realtime client (LiveSeats: one snapshot, then diffs over /ws, with gap
// catch-up, versions and epochs handled there). Pages only see
// onSnapshot(statuses) once and then onChanges([[idx, letter], ...]);
// onFrame gets the frames sent to the fan's own account (waiting-list
// offers).
import { LiveSeats } from '../seatsync.js';

export function followSeats(eventId, { onSnapshot, onChanges, onStatus, onFrame }) {
  let loaded = false;
  const live = new LiveSeats({
    eventId,
    onStatus,
    onFrame,
    onChange(idxs, sync) {
      if (!loaded) {
        loaded = true;
        onSnapshot(sync.statuses.join(''));
        return;
      }
      onChanges(idxs.map((i) => [i, sync.statuses[i]]));
    },
  });
  live.start();
  return () => live.stop();
}
