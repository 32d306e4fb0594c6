// k6: catalog traffic (events, event page, seat map with ETag, availability).
// Usage: k6 run -e BASE_URL=https://tickets.example -e EVENT=1 browse.js
// Knobs (-e): RATE visits/s [500], DURATION [1m], VISIT_SECONDS expected
// seconds per visit [0.5], SUMMARY_JSON file.
import { browse } from './lib/scenarios.js';
import { summary } from './lib/summary.js';

const env = (k, d) => (__ENV[k] === undefined || __ENV[k] === '' ? d : __ENV[k]);
const RATE = Number(env('RATE', 500));
// VUs busy at once = visits per second × seconds per visit (Little's law).
const VUS = Math.ceil(RATE * Number(env('VISIT_SECONDS', 0.5)));

export const options = {
  scenarios: {
    browse: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: env('DURATION', '1m'), preAllocatedVUs: VUS, maxVUs: 2 * VUS },
  },
  thresholds: { 'http_req_duration{name:availability}': ['p(99)<200'], checks: ['rate>0.99'], dropped_iterations: ['count==0'] },
};

export default function () {
  browse({ event: __ENV.EVENT });
}

export function handleSummary(data) {
  return summary(data, 'browse.js');
}
