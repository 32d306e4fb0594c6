// A threshold crossed at the end: exit 99, as in k6.
import http from 'k6/http';

export const options = { iterations: 2, thresholds: { 'http_req_failed{name:missing}': ['rate<0.5'] } };

export default function () {
  http.get(`${__ENV.BASE_URL}/missing`, { tags: { name: 'missing' } });
}
