// fairdraw.js: the waiting room's draw (boxoffice-draw-v1, docs/fairness.md)
// redone in the browser with its own SHA-256 (WebCrypto), so a fan needs to
// trust neither the server nor its code to check the numbering.
//
//   import { verifyProof } from "/js/fairdraw.js";
//   const r = await verifyProof(await (await fetch(".../queue/proof")).json());
//   // r.state: "ok" | "differs" | "not-drawn" | "invalid"

export const ALGORITHM = 'boxoffice-draw-v1';

const utf8 = new TextEncoder();

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** fromHex decodes lowercase or uppercase hex of exactly `size` bytes. */
export function fromHex(s, size, what) {
  if (typeof s !== 'string' || s.length !== 2 * size || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new Error(`${what} is not ${2 * size} hex digits`);
  }
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function compareBytes(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** commitment is hex(SHA-256(seed || beacon)). */
export async function commitment(seed, beacon) {
  return toHex(await sha256(concat(seed, utf8.encode(beacon))));
}

/**
 * draw returns the entries' indexes in drawn order (the first is number 1):
 * D = SHA-256("boxoffice-draw-v1" || seed || SHA-256(beacon) ||
 * SHA-256(entries in join order)), each entry's ticket SHA-256(D || entry),
 * entries sorted by ticket, smallest first.
 */
export async function draw(seed, beacon, entries) {
  const joined = await sha256(concat(...entries));
  const d = await sha256(concat(utf8.encode(ALGORITHM), seed, await sha256(utf8.encode(beacon)), joined));
  const tickets = await Promise.all(entries.map((e) => sha256(concat(d, e))));
  return entries.map((_, i) => i).sort((a, b) => compareBytes(tickets[a], tickets[b]));
}

/**
 * verifyProof checks a proof as GET /api/events/{event}/queue/proof serves
 * it: the seed against the commitment, then the published order against
 * the recomputed one. It never throws: problems come back as state
 * "invalid" with a message.
 */
export async function verifyProof(p) {
  try {
    if (p.algorithm !== ALGORITHM) throw new Error(`unknown algorithm "${p.algorithm}" (this page knows ${ALGORITHM})`);
    if (!p.seed) return { state: 'not-drawn', message: 'Not drawn yet: the seed is revealed when the sale opens.' };
    const seed = fromHex(p.seed, 32, 'the seed');
    const beacon = p.beacon || '';
    if (await commitment(seed, beacon) !== p.seed_commitment) {
      throw new Error('the seed and beacon do not match the commitment published before the sale');
    }
    const entries = (p.entries || []).map((e, i) => fromHex(e, 32, `entry ${i + 1}`));
    const seen = new Map();
    (p.entries || []).forEach((e, i) => {
      const k = e.toLowerCase();
      if (seen.has(k)) throw new Error(`entries ${seen.get(k) + 1} and ${i + 1} are the same`);
      seen.set(k, i);
    });
    const order = (await draw(seed, beacon, entries)).map((i) => toHex(entries[i]));
    const published = p.order || [];
    let first = 0, differ = 0;
    for (let k = 0; k < Math.min(order.length, published.length); k++) {
      if (published[k] !== order[k]) { differ++; if (!first) first = k + 1; }
    }
    if (differ || published.length !== order.length) {
      const where = first
        ? `Number ${first} is ${published[first - 1].slice(0, 12)}… in the published order but ${order[first - 1].slice(0, 12)}… when recomputed (${differ} of ${order.length} numbers differ).`
        : `The published order has ${published.length} entries, the recomputed one ${order.length}.`;
      return { state: 'differs', message: where, order, number: first, differ };
    }
    return { state: 'ok', message: `The published order of ${order.length} fans is the recomputed one.`, order };
  } catch (err) {
    return { state: 'invalid', message: `The proof does not check out: ${err.message}.` };
  }
}

/**
 * verifyLottery checks a registered-fan lottery as GET
 * /api/events/{event}/lottery serves it: the seed against the commitment
 * (SHA-256 of the seed, no beacon), then the winners: the registrants
 * sorted and without repeats, drawn as above with no beacon, the first
 * `target` drawn (docs/presales.md). Same answer shape as verifyProof,
 * with `winners` the recomputed ones.
 */
export async function verifyLottery(l) {
  try {
    if (!l.seed) return { state: 'not-drawn', message: `Not drawn yet: the seed is revealed at the draw (${l.draws_at}).` };
    const seed = fromHex(l.seed, 32, 'the seed');
    if (await commitment(seed, '') !== l.seed_commitment) {
      throw new Error('the seed does not match the commitment published when the lottery was set up');
    }
    const sorted = [...new Set(l.registrants || [])].sort();
    const entries = sorted.map((e, i) => fromHex(e, 32, `registrant ${i + 1}`));
    const order = await draw(seed, '', entries);
    const winners = order.slice(0, Math.max(0, Math.min(l.target, order.length))).map((i) => sorted[i]);
    const published = l.winners || [];
    let differ = Math.abs(published.length - winners.length);
    for (let k = 0; k < Math.min(winners.length, published.length); k++) if (published[k] !== winners[k]) differ++;
    if (differ) {
      return { state: 'differs', message: `${published.length} winners published, ${winners.length} recomputed, ${differ} places differ.`, winners };
    }
    return { state: 'ok', message: `The ${winners.length} published winners among ${sorted.length} registrants are the recomputed ones.`, winners };
  } catch (err) {
    return { state: 'invalid', message: `The lottery does not check out: ${err.message}.` };
  }
}
