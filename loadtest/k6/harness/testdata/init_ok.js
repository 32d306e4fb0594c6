// Everything in its place: metric and SharedArray (via open) at init, a
// synchronous request whose status is read without await, a check.
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter } from 'k6/metrics';

const lines = new SharedArray('lines', () => open('./data.txt').split('\n').filter(Boolean));
const seen = new Counter('seen');

export const options = { vus: 2, iterations: 4, thresholds: { seen: ['count==4'], checks: ['rate==1'] } };

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/hello?line=${lines[__ITER % lines.length]}`);
  check(res, { 'synchronous 200': (r) => r.status === 200 && r.body === 'hello' });
  seen.add(1);
}
