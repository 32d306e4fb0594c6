// The harness's own tests: each k6 rule it enforces fails a script that
// breaks it, with k6's message and exit status, and a script that keeps
// them passes. Run by make test (node --test loadtest/k6/harness/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { arrivals, normalizeScenarios } from './engine.mjs';

const dir = fileURLToPath(new URL('.', import.meta.url));
let server;
let base;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url.startsWith('/hello')) res.end('hello');
    else { res.statusCode = 404; res.end('no'); }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => server.close());

function k6(script, ...args) {
  // Asynchronous: the test server runs in this process's event loop.
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [`${dir}run.mjs`, '-e', `BASE_URL=${base}`, ...args, `${dir}testdata/${script}`]);
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('close', (code) => resolve({ code, out }));
  });
}


test('a metric created in VU code fails the run with k6\'s message', async () => {
  const { code, out } = await k6('metric_in_vu.js');
  assert.equal(code, 1, out);
  assert.match(out, /metrics must be declared in the init context/);
});

test('open() outside the init context fails', async () => {
  const { code, out } = await k6('open_in_vu.js');
  assert.equal(code, 1, out);
  assert.match(out, /The "open\(\)" function is only available in the init stage/);
});

test('new SharedArray outside the init context fails', async () => {
  const { code, out } = await k6('shared_in_vu.js');
  assert.equal(code, 1, out);
  assert.match(out, /new SharedArray must be called in the init context/);
});

test('--no-strict exits 0 on iteration errors, as k6 does', async () => {
  const { code } = await k6('metric_in_vu.js', '--no-strict');
  assert.equal(code, 0);
});

test('init-time metrics, SharedArray and synchronous HTTP pass', async () => {
  const { code, out } = await k6('init_ok.js');
  assert.equal(code, 0, out);
  assert.match(out, /seen\.+: 4/);
});

test('a crossed threshold exits 99', async () => {
  const { code, out } = await k6('threshold.js');
  assert.equal(code, 99, out);
  assert.match(out, /thresholds on metrics 'http_req_failed\{name:missing\}' have been crossed/);
});

test('an arrival rate without enough VUs drops iterations', async () => {
  const { code, out } = await k6('dropped.js');
  assert.equal(code, 0, out);
  assert.match(out, /dropped_iterations\.+: [1-9]/);
  assert.match(out, /Insufficient VUs/);
});

test('a module k6 lacks fails in the init context with exit 107', async () => {
  const { code, out } = await k6('unknown_module.js');
  assert.equal(code, 107, out);
  assert.match(out, /unknown module: fs/);
});

test('arrivals follow the rate: 10/s for 1s is 10 starts, a ramp 0→10 over 2s is 10', () => {
  const flat = normalizeScenarios({ scenarios: { s: { executor: 'constant-arrival-rate', rate: 10, duration: '1s', preAllocatedVUs: 1 } } })[0];
  assert.equal(arrivals(flat).length, 10);
  const ramp = normalizeScenarios({ scenarios: { s: { executor: 'ramping-arrival-rate', startRate: 0, preAllocatedVUs: 1, stages: [{ target: 10, duration: '2s' }] } } })[0];
  const at = arrivals(ramp);
  assert.equal(at.length, 10);
  assert.ok(at[1] > 500 && at[9] > 1800, `starts ${at.map(Math.round)}`);
});

test('exec.test.abort() stops the test with exit 108 after teardown', async () => {
  const { code, out } = await k6('abort.js');
  assert.equal(code, 108, out);
  assert.match(out, /test aborted: enough/);
  assert.match(out, /teardown ran/);
});
