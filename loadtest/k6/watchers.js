// k6: fans watching the live seat map over WebSocket.
// Usage: k6 run -e BASE_URL=https://tickets.example -e EVENT=1 watchers.js
import { makeClient } from './lib/client_k6.js';
import { watch } from './lib/scenarios.js';

export const options = {
  scenarios: { watchers: { executor: 'constant-vus', vus: 5000, duration: '2m' } },
  thresholds: { ws_connecting: ['p(95)<1000'] },
};

export default async function () {
  await watch(makeClient(__ENV.BASE_URL), { event: __ENV.EVENT, seconds: 60 });
}
