// k6: the on-sale spike. Fans arrive at a ramping rate, each solving the
// proof of work, waiting for admission, holding, checking out and paying.
// Usage: k6 run -e BASE_URL=https://tickets.example -e EVENT=1 -e TOKENS=fans.tokens flash_sale.js
import { makeClient } from './lib/client_k6.js';
import { flashSale } from './lib/scenarios.js';

const tokens = open(__ENV.TOKENS || 'fans.tokens').split('\n').filter(Boolean).map((l) => l.split(' ')[1]);

export const options = {
  scenarios: {
    onsale: {
      executor: 'ramping-arrival-rate', startRate: 10, timeUnit: '1s', preAllocatedVUs: 500, maxVUs: 5000,
      stages: [{ target: 2000, duration: '30s' }, { target: 2000, duration: '2m' }, { target: 0, duration: '30s' }],
    },
  },
  thresholds: {
    'http_req_failed{name:hold}': ['rate<0.5'],
    'http_req_duration{name:hold}': ['p(99)<500'],
    'http_req_duration{name:confirm}': ['p(99)<1500'],
    checks: ['rate>0.99'],
  },
};

export default async function () {
  const c = makeClient(__ENV.BASE_URL);
  await flashSale(c, { event: __ENV.EVENT, token: tokens[(__VU * 7919 + __ITER) % tokens.length], seats: 1 + Math.floor(Math.random() * 4), decline: 0.05, thinkSeconds: 2 });
}
