// k6: fans watching the live seat map over WebSocket, each for
// WATCH_SECONDS, reconnecting until DURATION is over.
// Usage: k6 run -e BASE_URL=https://tickets.example -e EVENT=1 watchers.js
// Knobs (-e): VUS [5000], DURATION [2m], WATCH_SECONDS [60], SUMMARY_JSON file.
import { watch } from './lib/scenarios.js';
import { summary } from './lib/summary.js';

const env = (k, d) => (__ENV[k] === undefined || __ENV[k] === '' ? d : __ENV[k]);
const WATCH = Number(env('WATCH_SECONDS', 60));

export const options = {
  scenarios: {
    watchers: {
      executor: 'constant-vus', vus: Number(env('VUS', 5000)), duration: env('DURATION', '2m'),
      // a session started just before the end still runs its course
      gracefulStop: `${WATCH + 10}s`,
    },
  },
  thresholds: { ws_connecting: ['p(95)<1000'], checks: ['rate>0.99'], fan_errors: ['count==0'] },
};

export default function () {
  watch({ event: __ENV.EVENT, seconds: WATCH });
}

export function handleSummary(data) {
  return summary(data, 'watchers.js');
}
