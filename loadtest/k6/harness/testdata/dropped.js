// An arrival rate one VU cannot keep up with: dropped_iterations, as in k6.
import { sleep } from 'k6';

export const options = {
  scenarios: { s: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1s', preAllocatedVUs: 1, maxVUs: 1 } },
};

export default function () {
  sleep(0.5);
}
