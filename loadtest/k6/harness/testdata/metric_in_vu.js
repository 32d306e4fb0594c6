// A metric created in VU code, as main's lib/client_k6.js did: k6 throws.
import { Counter } from 'k6/metrics';

export default function () {
  new Counter('late').add(1);
}
