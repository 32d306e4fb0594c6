// exec.test.abort() ends the test: teardown and the summary still run, exit 108.
import exec from 'k6/execution';

export const options = { vus: 1, duration: '20s' };

export default function () {
  exec.test.abort('enough');
}

export function teardown() {
  console.log('teardown ran');
}
