// Waiting-room client for the fan pages (plain ES module, no build).
//
//   import { joinQueue, etaFromFrame } from "/js/queue.js";
//   const place = await joinQueue(eventId, { onProgress: (tried) => ... });
//   // then on each {"type":"queue"} frame of topic event:{e}:queue:
//   const { position, etaSeconds } = etaFromFrame(place.number, frame);
//   // and on {"type":"admitted"} (or a /queue/me poll with state "admitted"):
//   // send X-Admission-Token: admission_token with POST .../holds.
//
// Requests carry the session cookie (same origin), so the server's CSRF
// check passes for the POST.

/**
 * etaFromFrame is the same arithmetic as GET /queue/me: position = number -
 * serving, eta = position ÷ admit_rate (fans per second, smoothed by the
 * admitter). Null while the fan has no number (pre-queue) or no rate yet.
 */
export function etaFromFrame(number, frame) {
  if (!number) return { position: null, etaSeconds: null };
  const position = Math.max(0, number - frame.serving);
  const etaSeconds = frame.admit_rate > 0 ? Math.ceil(position / frame.admit_rate) : null;
  return { position, etaSeconds };
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error?.message ?? `HTTP ${res.status}`);
    err.status = res.status;
    err.code = data.error?.code;
    err.retryAfter = Number(res.headers.get("Retry-After")) || 0;
    throw err;
  }
  return data;
}

/** solveInWorker runs the proof of work in a module Web Worker. */
export function solveInWorker(challenge, onProgress) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./pow-worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (e) => {
      if (e.data.type === "progress") return onProgress?.(e.data.tried);
      worker.terminate();
      if (e.data.type === "solved") resolve(e.data);
      else reject(new Error(e.data.message));
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(e.message));
    };
    worker.postMessage(challenge);
  });
}

/**
 * joinQueue fetches a challenge, solves it off the main thread and joins.
 * It resolves to {state, number, position, eta_seconds}. A fan who joined
 * before gets the same place back.
 */
export async function joinQueue(eventId, { onProgress } = {}) {
  const base = `/api/events/${encodeURIComponent(eventId)}/queue`;
  const challenge = await api("GET", `${base}/challenge`);
  const solved = await solveInWorker(challenge, onProgress);
  return api("POST", base, {
    challenge: solved.challenge,
    signature: solved.signature,
    solution: solved.solution,
  });
}

/** me polls GET /queue/me; polling also counts as a heartbeat. */
export function me(eventId) {
  return api("GET", `/api/events/${encodeURIComponent(eventId)}/queue/me`);
}
