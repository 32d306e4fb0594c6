// scanqueue.js: the scans a door makes while it cannot reach the server,
// kept on the device (localStorage, so a reload or a crashed tab keeps
// them) and sent in the order they were made once the network is back.
// Each is sent with the time it was scanned: the server checks the
// rotating code as of then and admits a ticket exactly once, so a scan
// sent twice, or a ticket that got in at another door meanwhile, comes
// back as already checked in, never as a second admission.
import { post } from './api.js';

const storageKey = 'scan.queue';

// maxQueued bounds the queue: a door offline for a whole evening still
// keeps every scan, and a runaway loop cannot fill the device's storage.
const maxQueued = 5000;

export function queuedScans() {
  try { return JSON.parse(localStorage.getItem(storageKey) || '[]'); } catch { return []; }
}

function save(list) {
  localStorage.setItem(storageKey, JSON.stringify(list));
}

// queueScan keeps a scan for later; it returns false when the same code
// is already waiting (the camera sees a code many times).
export function queueScan(scan) {
  const list = queuedScans();
  if (list.some((s) => s.code === scan.code && s.event === scan.event)) return false;
  if (list.length >= maxQueued) throw new Error(`${maxQueued} scans are waiting on this device; reconnect it before scanning more`);
  list.push(scan);
  save(list);
  return true;
}

let syncing = null;

// syncScans sends the waiting scans oldest first and calls onResult(scan,
// admission, error) for each one the server answered (error is the
// ApiError of a refusal). It stops at the first scan the server gave no
// answer about (no network, a server error, a lapsed session), which stays
// queued with those after it. Calls while a sync runs share it.
export function syncScans(onResult) {
  // finally runs after the assignment, even when nothing is waiting.
  syncing ??= sendWaiting(onResult).finally(() => { syncing = null; });
  return syncing;
}

async function sendWaiting(onResult) {
  for (;;) {
    const [scan] = queuedScans();
    if (!scan) return;
    let admission = null, error = null;
    try {
      admission = await post('/api/checkins', { code: scan.code, event: scan.event, entrance: scan.entrance, scanned_at: scan.scanned_at });
    } catch (e) {
      // Not an answer about the ticket (no network, a server error, the
      // session expired, rate limited): keep it for the next try.
      if (e.code === 'network' || e.status >= 500 || [401, 403, 429].includes(e.status)) return;
      error = e;
    }
    // Answered: it leaves the queue before the next is sent.
    save(queuedScans().filter((s) => !(s.code === scan.code && s.event === scan.event)));
    onResult(scan, admission, error);
  }
}
