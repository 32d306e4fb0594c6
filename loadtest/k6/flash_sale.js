// k6: the on-sale spike. Fans arrive at a ramping rate, each solving the
// proof of work, waiting for admission, holding, checking out and paying.
// Usage: k6 run -e BASE_URL=https://tickets.example -e EVENT=1 -e TOKENS=/abs/fans.tokens flash_sale.js
// Knobs (-e): RATE peak fans/s [500], RAMP [30s], PEAK [2m], DOWN [30s],
// THINK seconds [2], DECLINE share [0.05], QUEUE_SECONDS [120],
// FAN_SECONDS expected seconds per fan [2×THINK + 10], SUMMARY_JSON file.
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import { flashSale } from './lib/scenarios.js';
import { summary } from './lib/summary.js';

const env = (k, d) => (__ENV[k] === undefined || __ENV[k] === '' ? d : __ENV[k]);

// The tokens file of `boxoffice seed fans N -tokens FILE` ("email token"
// lines), read once and shared by every VU. A relative path is relative to
// this script, as k6's open() resolves it.
const tokens = new SharedArray('fan tokens', () => open(env('TOKENS', 'fans.tokens'))
  .split('\n').map((l) => l.trim().split(/\s+/)[1]).filter(Boolean));
if (tokens.length === 0) throw new Error(`no "email token" lines in ${env('TOKENS', 'fans.tokens')}: make one with boxoffice seed fans N -tokens FILE`);

const RATE = Number(env('RATE', 500));
const THINK = Number(env('THINK', 2));
const DECLINE = Number(env('DECLINE', 0.05));
// Little's law: the VUs busy at once are the arrival rate times the time a
// fan takes (two think times, the wait for admission, a few requests). Too
// few and k6 drops arrivals, so the run fails on dropped_iterations.
const FAN_SECONDS = Number(env('FAN_SECONDS', 2 * THINK + 10));
const VUS = Math.ceil(RATE * FAN_SECONDS);

export const options = {
  scenarios: {
    onsale: {
      executor: 'ramping-arrival-rate', startRate: Math.min(10, RATE), timeUnit: '1s',
      preAllocatedVUs: VUS, maxVUs: 2 * VUS,
      stages: [{ target: RATE, duration: env('RAMP', '30s') }, { target: RATE, duration: env('PEAK', '2m') }, { target: 0, duration: env('DOWN', '30s') }],
      gracefulStop: `${Number(env('QUEUE_SECONDS', 120)) + 2 * THINK + 30}s`,
    },
  },
  thresholds: {
    // hold answers 201 or 409 (a lost race) by design; anything else fails.
    'http_req_failed{name:hold}': ['rate<0.01'],
    'http_req_duration{name:hold}': ['p(99)<500'],
    'http_req_duration{name:confirm}': ['p(99)<1500'],
    checks: ['rate>0.99'],
    dropped_iterations: ['count==0'],
  },
};

export default function () {
  // Each arrival is the next fan of the file; every 1/DECLINE-th pays with
  // the declining card, so the share is exact and visible in the summary.
  const n = exec.scenario.iterationInTest;
  flashSale({
    event: __ENV.EVENT, token: tokens[n % tokens.length], seats: 1 + Math.floor(Math.random() * 4),
    decline: DECLINE > 0 && n % Math.round(1 / DECLINE) === 0, think: THINK,
    queueSeconds: Number(env('QUEUE_SECONDS', 120)),
  });
}

export function handleSummary(data) {
  return summary(data, 'flash_sale.js');
}
