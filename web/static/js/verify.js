// The page /verify.html: reads ?event=, ?hash= and ?kind=, fetches the
// event's queue proof (or its lottery, kind=lottery) and shows whether the
// published order (or winners) is the one the draw gives.
import { verifyProof, verifyLottery } from './fairdraw.js';

const form = document.getElementById('verify');
const result = document.getElementById('result');
const verdict = document.getElementById('verdict');
const mine = document.getElementById('mine');
const details = document.getElementById('details');

const VERDICTS = {
  ok: 'OK: the numbering is the draw’s.',
  differs: 'The published order is NOT the one the draw gives.',
  'not-drawn': 'Nothing to check yet.',
  invalid: 'This proof is not valid.',
  error: 'Could not fetch the proof.',
};

function show(state, message) {
  result.hidden = false;
  result.dataset.state = state;
  verdict.className = state === 'ok' ? 'ok' : state === 'not-drawn' ? 'muted' : 'error';
  verdict.textContent = `${VERDICTS[state]} ${message}`;
}

function detail(term, value) {
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = value;
  details.append(dt, dd);
}

// checkLottery is check for a presale lottery: the winners instead of an
// order.
async function checkLottery(event, hash) {
  let lottery;
  try {
    const res = await fetch(`/api/events/${encodeURIComponent(event)}/lottery`);
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(body?.error?.message || `the server answered ${res.status}`);
    lottery = body;
  } catch (err) {
    show('error', `${err.message}.`);
    return;
  }
  const r = await verifyLottery(lottery);
  show(r.state, r.message);
  detail('Algorithm', lottery.algorithm);
  detail('Seed commitment', `${lottery.seed_commitment} (made ${lottery.committed_at})`);
  detail('Target', String(lottery.target));
  detail('Registered', String(lottery.registered));
  if (lottery.seed) {
    detail('Seed', lottery.seed);
    detail('Drawn', lottery.drawn_at);
  }
  if (hash && r.winners) {
    const h = hash.trim().toLowerCase();
    const n = r.winners.indexOf(h) + 1;
    mine.textContent = n > 0 ? `Your hash won: drawn number ${n} of ${r.winners.length}.`
      : (lottery.registrants || []).includes(h) ? 'Your hash was registered and not drawn.'
        : 'Your hash is not among this lottery\'s registrants.';
  }
}

async function check(event, hash, kind) {
  details.replaceChildren();
  mine.textContent = '';
  show('not-drawn', 'Checking…');
  if (!globalThis.crypto?.subtle) {
    show('error', 'This browser offers SHA-256 only on secure (HTTPS) pages.');
    return;
  }
  if (kind === 'lottery') {
    await checkLottery(event, hash);
    return;
  }
  let proof;
  try {
    const res = await fetch(`/api/events/${encodeURIComponent(event)}/queue/proof`);
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(body?.error?.message || `the server answered ${res.status}`);
    proof = body;
  } catch (err) {
    show('error', `${err.message}.`);
    return;
  }
  const r = await verifyProof(proof);
  show(r.state, r.message);
  detail('Algorithm', proof.algorithm);
  detail('Seed commitment', `${proof.seed_commitment} (made ${proof.committed_at})`);
  detail('Beacon', proof.beacon ? proof.beacon : '(none)');
  if (proof.seed) {
    detail('Seed', proof.seed);
    detail('Drawn', proof.drawn_at);
    detail('Fans in the draw', String((proof.entries || []).length));
  }
  if (hash && r.order) {
    const n = r.order.indexOf(hash.trim().toLowerCase()) + 1;
    mine.textContent = n > 0
      ? `Your proof hash is number ${n} of ${r.order.length}.`
      : 'Your proof hash is not in this draw (fans who joined after the sale opened are numbered in arrival order).';
  }
}

const params = new URLSearchParams(location.search);
form.event.value = params.get('event') || '';
form.hash.value = params.get('hash') || '';
form.kind.value = params.get('kind') === 'lottery' ? 'lottery' : 'queue';
form.addEventListener('submit', (e) => {
  e.preventDefault();
  const q = new URLSearchParams({ event: form.event.value.trim() });
  if (form.hash.value.trim()) q.set('hash', form.hash.value.trim());
  if (form.kind.value === 'lottery') q.set('kind', 'lottery');
  history.replaceState(null, '', `?${q}`);
  check(form.event.value.trim(), form.hash.value.trim(), form.kind.value);
});
if (form.event.value) check(form.event.value.trim(), form.hash.value, form.kind.value);
