// k6: catalog traffic (events, event page, seat map with ETag, availability).
// Usage: k6 run -e BASE_URL=https://tickets.example -e EVENT=1 browse.js
import { makeClient } from './lib/client_k6.js';
import { browse } from './lib/scenarios.js';

export const options = {
  scenarios: { browse: { executor: 'constant-arrival-rate', rate: 500, timeUnit: '1s', duration: '1m', preAllocatedVUs: 200 } },
  thresholds: { 'http_req_duration{name:availability}': ['p(99)<200'], checks: ['rate>0.99'] },
};

export default async function () {
  await browse(makeClient(__ENV.BASE_URL), { event: __ENV.EVENT });
}
