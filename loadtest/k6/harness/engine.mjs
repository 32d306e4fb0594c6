// engine.mjs: the k6 test life cycle on the main thread. VU 0 evaluates the
// script to read `options` (and later runs setup, teardown and
// handleSummary); the planned VUs are initialized up front, each a worker
// with its own copy of the script; the scenarios' executors hand them
// iterations; thresholds are evaluated at the end and handleSummary (or a
// text summary) reports. Exit codes are k6's (99 thresholds crossed, 104
// invalid options, 107 script error in init or setup, 108 aborted).
import { MessageChannel, Worker } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import { ConfigError, Registry, textSummary } from './metrics.mjs';
import { newAgents, request } from './io.mjs';

export const EXIT = { thresholds: 99, config: 104, script: 107, aborted: 108, iterations: 1 };

// parseDuration reads k6 durations: '500ms', '30s', '1m30s', '2h', or ms.
export function parseDuration(v, what = 'duration') {
  if (typeof v === 'number') return v;
  const s = String(v ?? '').trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  let ms = 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let rest = s;
  for (const m of s.matchAll(re)) {
    ms += Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2]];
    rest = rest.replace(m[0], '');
  }
  if (!s || rest) throw new ConfigError(`invalid ${what} ${JSON.stringify(v)}`);
  return ms;
}

const delay = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// timer is a delay that can be cancelled, so no timer outlives the test.
function timer(ms) {
  let id;
  const promise = new Promise((r) => { id = setTimeout(r, Math.max(0, ms)); });
  return { promise, cancel: () => clearTimeout(id) };
}

// normalizeScenarios turns options (after CLI overrides) into scenarios,
// applying k6's shortcuts: iterations → shared-iterations, duration →
// constant-vus, stages → ramping-vus, nothing → 1 iteration of 1 VU.
export function normalizeScenarios(options) {
  let scenarios = options.scenarios;
  if (!scenarios || !Object.keys(scenarios).length) {
    const vus = options.vus ?? 1;
    if (options.stages) scenarios = { default: { executor: 'ramping-vus', startVUs: vus, stages: options.stages } };
    else if (options.iterations) {
      scenarios = { default: { executor: 'shared-iterations', vus, iterations: options.iterations, ...(options.duration ? { maxDuration: options.duration } : {}) } };
    } else if (options.duration) scenarios = { default: { executor: 'constant-vus', vus, duration: options.duration } };
    else scenarios = { default: { executor: 'shared-iterations', vus: 1, iterations: 1 } };
  }
  return Object.entries(scenarios).map(([name, s]) => {
    const sc = {
      name, executor: s.executor, exec: s.exec || 'default', env: s.env || {}, tags: s.tags || {},
      startTime: parseDuration(s.startTime ?? 0, `${name}.startTime`),
      gracefulStop: parseDuration(s.gracefulStop ?? '30s', `${name}.gracefulStop`),
    };
    const stages = (list) => (list || []).map((st) => ({ target: Number(st.target), duration: parseDuration(st.duration, `${name} stage duration`) }));
    switch (s.executor) {
      case 'shared-iterations':
      case 'per-vu-iterations':
        Object.assign(sc, { vus: s.vus ?? 1, iterations: s.iterations ?? 1, duration: parseDuration(s.maxDuration ?? '10m') });
        break;
      case 'constant-vus':
        if (s.duration === undefined) throw new ConfigError(`scenario ${name}: constant-vus needs a duration`);
        Object.assign(sc, { vus: s.vus ?? 1, duration: parseDuration(s.duration) });
        break;
      case 'ramping-vus':
        Object.assign(sc, { startVUs: s.startVUs ?? 1, stages: stages(s.stages) });
        sc.vus = Math.max(sc.startVUs, ...sc.stages.map((st) => st.target));
        sc.duration = sc.stages.reduce((a, st) => a + st.duration, 0);
        break;
      case 'constant-arrival-rate':
      case 'ramping-arrival-rate': {
        if (s.preAllocatedVUs === undefined) throw new ConfigError(`scenario ${name}: ${s.executor} needs preAllocatedVUs`);
        const unit = parseDuration(s.timeUnit ?? '1s', `${name}.timeUnit`);
        const st = s.executor === 'constant-arrival-rate'
          ? { start: s.rate, stages: [{ target: Number(s.rate), duration: parseDuration(s.duration, `${name}.duration`) }] }
          : { start: s.startRate ?? 0, stages: stages(s.stages) };
        Object.assign(sc, {
          unit, startRate: Number(st.start), stages: st.stages, vus: s.preAllocatedVUs,
          maxVUs: Math.max(s.maxVUs ?? s.preAllocatedVUs, s.preAllocatedVUs),
          duration: st.stages.reduce((a, x) => a + x.duration, 0),
        });
        break;
      }
      default:
        throw new ConfigError(`scenario ${name}: executor ${JSON.stringify(s.executor)} is not supported by the harness`);
    }
    return sc;
  });
}

// arrivals lists the start offsets (ms) of an arrival-rate scenario: the
// n-th iteration (from 0) starts when the integral of the rate reaches n.
export function arrivals(sc) {
  const out = [];
  let rate = sc.startRate / sc.unit; // iterations per ms
  let t = 0;
  let total = 0;
  for (const st of sc.stages) {
    const from = rate;
    const to = st.target / sc.unit;
    for (let i = 0; i < st.duration; i++) {
      const r0 = from + ((to - from) * i) / st.duration;
      const r1 = from + ((to - from) * (i + 1)) / st.duration;
      while (out.length <= total + 1e-9) {
        // the next start lies within this millisecond if the integral reaches it
        if (total + (r0 + r1) / 2 < out.length - 1e-9) break;
        const need = out.length - total;
        const frac = (r0 + r1) / 2 > 0 ? Math.min(1, Math.max(0, need / ((r0 + r1) / 2))) : 0;
        out.push(t + i + frac);
      }
      total += (r0 + r1) / 2;
    }
    t += st.duration;
    rate = to;
  }
  return out.filter((x) => x < t);
}

class VU {
  constructor(engine, id) {
    this.engine = engine;
    this.id = id;
    this.agents = newAgents();
    this.iterations = 0;
    this.inScenario = {};
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const signal = new Int32Array(flag);
    this.worker = new Worker(new URL('./vu.mjs', import.meta.url), {
      workerData: { vu: id, env: engine.env, script: engine.script, port: port2, flag, options: engine.options },
      transferList: [port2],
      execArgv: engine.execArgv,
      stdout: false,
      stderr: false,
    });
    port1.on('message', async ({ op, args }) => {
      let reply;
      try {
        reply = { value: await engine.serve(this, op, args) };
      } catch (err) {
        reply = { error: err.message };
      }
      port1.postMessage(reply);
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    });
    this.port = port1;
    this.ready = new Promise((resolve, reject) => { this.readyFns = { resolve, reject }; });
    this.ready.catch(() => {});
    this.worker.on('message', (m) => this.onMessage(m));
    this.worker.on('error', (err) => this.finish({ error: { message: err.message, stack: err.stack } }, err));
    this.worker.on('exit', () => {
      this.dead = true;
      this.port.close();
      this.finish({ interrupted: true }, new Error(`VU ${id} exited during init`));
    });
  }

  onMessage(m) {
    switch (m.type) {
      case 'samples':
        for (const [name, value, tags] of m.samples) this.engine.sample(name, value, tags);
        return;
      case 'log':
        this.engine.log(m.level, m.text, { source: 'console', vu: m.vu });
        return;
      case 'ready':
        this.exports = m.exports;
        this.readyFns.resolve(m);
        return;
      case 'init-error':
        this.initError = m.error;
        return;
      case 'abort':
        this.engine.abort(m.reason);
        return;
      case 'fail':
        this.engine.markedFailed = true;
        return;
      case 'done':
        this.finish(m);
    }
  }

  finish(result, initErr) {
    if (this.readyFns) {
      const { reject } = this.readyFns;
      if (this.exports === undefined) {
        this.readyFns = null;
        const e = new Error(this.initError?.message ?? initErr?.message);
        e.stack = this.initError?.stack ?? initErr?.stack;
        reject(e);
      }
    }
    const pending = this.pending;
    this.pending = null;
    pending?.(result);
  }

  // run sends one iteration or call and resolves with {error, value} or
  // {interrupted: true} when the engine stopped the VU first.
  run(msg) {
    if (this.dead) return Promise.resolve({ interrupted: true });
    this.busy = true;
    return new Promise((resolve) => {
      this.pending = (r) => {
        this.busy = false;
        resolve(r);
      };
      this.worker.postMessage(msg);
    });
  }

  async stop() {
    this.dead = true;
    await this.worker.terminate();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

export class Engine {
  // cfg: {script (absolute path), env, overrides {vus, duration,
  // iterations}, strict, vuLimit, stdout, stderr, summaryExport}
  constructor(cfg) {
    Object.assign(this, cfg);
    this.registry = new Registry();
    this.shared = new Map();
    this.checks = new Map();
    this.errorsSeen = new Map();
    this.vus = [];
    this.idle = [];
    this.iterationErrors = 0;
    this.interrupted = 0;
    this.nextVU = 1;
    this.execArgv = [...process.execArgv, '--no-warnings', ...(typeof WebSocket === 'undefined' ? ['--experimental-websocket'] : [])];
    this.started = Date.now();
  }

  log(level, text, fields = {}) {
    const secs = String(Math.floor((Date.now() - this.started) / 1000)).padStart(4, '0');
    const kv = Object.entries(fields).map(([k, v]) => ` ${k}=${v}`).join('');
    this.stderr.write(`${level.slice(0, 4).toUpperCase()}[${secs}] ${text}${kv}\n`);
  }

  // serve answers a VU's blocking call.
  async serve(vu, op, args) {
    switch (op) {
      case 'http':
        return request(vu.agents, args);
      case 'metric':
        this.registry.define(args.name, args.type, args.isTime);
        return null;
      case 'shared':
        if (args.items && !this.shared.has(args.name)) this.shared.set(args.name, args.items);
        return this.shared.get(args.name) ?? null;
      default:
        throw new Error(`harness: unknown call ${op}`);
    }
  }

  spawn(id) {
    const vu = new VU(this, id);
    if (id > 0) this.vus.push(vu);
    return vu;
  }

  async run() {
    // 1. VU 0: options.
    this.vu0 = this.spawn(0);
    let ready;
    try {
      ready = await this.vu0.ready;
    } catch (err) {
      this.log('error', `${err.stack || err.message}`, { hint: 'script exception in the init context' });
      await this.vu0.stop();
      return EXIT.script;
    }
    const exports = new Set(ready.exports);
    try {
      this.options = { ...ready.options };
      const o = this.overrides || {};
      if (o.vus !== undefined || o.duration !== undefined || o.iterations !== undefined) {
        // As in k6, these flags replace the script's scenarios.
        delete this.options.scenarios;
        delete this.options.stages;
        for (const k of ['vus', 'duration', 'iterations']) if (o[k] !== undefined) this.options[k] = o[k];
      }
      this.scenarios = normalizeScenarios(this.options);
      for (const sc of this.scenarios) {
        if (!exports.has(sc.exec)) throw new ConfigError(`scenario ${sc.name}: function '${sc.exec}' not found in exports`);
      }
      this.registry.setThresholds(this.options.thresholds);
    } catch (err) {
      this.log('error', err.message);
      await this.vu0.stop();
      return err instanceof ConfigError ? EXIT.config : EXIT.script;
    }

    // 2. The planned VUs, initialized before the test starts as in k6.
    // Each is a Node worker, so the harness refuses a load it cannot carry.
    const planned = this.scenarios.reduce((a, sc) => a + sc.vus, 0);
    const most = this.scenarios.reduce((a, sc) => a + Math.max(sc.vus, sc.maxVUs ?? 0), 0);
    if (most > this.vuLimit) {
      this.log('error', `harness: the scenarios ask for up to ${most} VUs; the harness runs at most ${this.vuLimit} ` +
        '(each VU is a Node worker): shrink the load with the script\'s -e knobs or --vus, or raise --vu-limit');
      await this.vu0.stop();
      return EXIT.config;
    }
    try {
      this.idle.push(...(await Promise.all(Array.from({ length: planned }, () => this.newVU()))));
    } catch (err) {
      this.log('error', err.stack || err.message, { hint: 'script exception in the init context of a VU' });
      await this.stopAll();
      return EXIT.script;
    }

    // 3. setup.
    let setupJSON;
    if (exports.has('setup')) {
      const r = await this.vu0.run({ type: 'call', fn: 'setup' });
      if (r.error) {
        this.log('error', r.error.stack || r.error.message, { hint: 'script exception in setup()' });
        await this.stopAll();
        return EXIT.script;
      }
      setupJSON = r.value;
      for (const vu of this.vus) vu.worker.postMessage({ type: 'setup-data', data: setupJSON });
    }
    this.setupJSON = setupJSON;

    // 4. The scenarios, with vus/vus_max sampled every second.
    this.testStart = Date.now();
    const sampler = setInterval(() => this.sampleVUs(), 1000);
    const watcher = this.registry.thresholds.some((t) => t.exprs.some((e) => e.abortOnFail)) ? setInterval(() => this.checkAbortOnFail(), 2000) : null;
    this.sampleVUs();
    await Promise.all(this.scenarios.map((sc) => this.runScenario(sc)));
    clearInterval(sampler);
    if (watcher) clearInterval(watcher);
    this.sampleVUs();
    const durationMs = Date.now() - this.testStart;

    // 5. teardown.
    if (exports.has('teardown')) {
      const r = await this.vu0.run({ type: 'call', fn: 'teardown', arg: setupJSON });
      if (r.error) this.log('error', r.error.stack || r.error.message, { hint: 'script exception in teardown()' });
    }

    // 6. Thresholds and the summary.
    const { results, ok } = this.registry.evaluate(durationMs);
    const data = {
      root_group: this.rootGroup(),
      options: { summaryTrendStats: this.options.summaryTrendStats || ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'], summaryTimeUnit: '', noColor: true },
      state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
      metrics: this.registry.summaryMetrics(durationMs, this.options.summaryTrendStats || ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'], results),
    };
    if (this.summaryExport) writeFileSync(this.summaryExport, JSON.stringify(data, null, 2));
    if (exports.has('handleSummary')) {
      const r = await this.vu0.run({ type: 'call', fn: 'handleSummary', arg: JSON.stringify(data) });
      if (r.error) {
        this.log('error', r.error.stack || r.error.message, { hint: 'script exception in handleSummary()' });
        this.stdout.write(textSummary(data));
      } else {
        for (const [where, text] of Object.entries(JSON.parse(r.value ?? '{}'))) {
          if (where === 'stdout') this.stdout.write(text);
          else if (where === 'stderr') this.stderr.write(text);
          else writeFileSync(where, text);
        }
      }
    } else {
      this.stdout.write(textSummary(data));
    }
    await this.stopAll();

    for (const [key, exprs] of Object.entries(results)) {
      for (const [expr, r] of Object.entries(exprs)) if (!r.ok) this.log('error', `thresholds on metrics '${key}' have been crossed: ${expr}`);
    }
    if (this.aborted) return this.abortCode;
    if (!ok) return EXIT.thresholds;
    if (this.iterationErrors && this.strict) {
      for (const [msg, n] of this.errorsSeen) this.log('error', `${n} iteration(s): ${msg}`);
      this.log('error', `harness: ${this.iterationErrors} iteration(s) ended in an uncaught exception (k6 logs them and goes on; the harness fails the run)`);
      return EXIT.iterations;
    }
    if (this.markedFailed) return 110;
    return 0;
  }

  // newVU initializes one more VU (its init context) and makes it idle.
  async newVU() {
    const vu = this.spawn(this.nextVU++);
    await vu.ready;
    if (this.setupJSON !== undefined) vu.worker.postMessage({ type: 'setup-data', data: this.setupJSON });
    return vu;
  }

  sampleVUs() {
    const live = this.vus.filter((v) => !v.dead);
    this.registry.add('vus', live.filter((v) => v.busy).length, {});
    this.registry.add('vus_max', live.length, {});
  }

  checkAbortOnFail() {
    const { results } = this.registry.evaluate(Date.now() - this.testStart);
    for (const t of this.registry.thresholds) {
      for (const e of t.exprs) {
        const wait = e.delayAbortEval ? parseDuration(e.delayAbortEval, 'delayAbortEval') : 0;
        if (e.abortOnFail && Date.now() - this.testStart >= wait && !results[t.key][e.src].ok) {
          this.log('error', `thresholds on metrics '${t.key}' were crossed; abortOnFail is set`);
          this.abort('threshold abortOnFail', EXIT.thresholds);
          return;
        }
      }
    }
  }

  abort(reason, code = EXIT.aborted) {
    if (this.aborted) return;
    this.aborted = reason;
    this.abortCode = code;
    this.log('error', `test aborted: ${reason}`);
    for (const vu of this.vus) if (vu.busy) vu.stop();
  }

  async stopAll() {
    await Promise.all([this.vu0, ...this.vus].map((vu) => vu.stop()));
  }

  // sample records a VU's sample; checks are also tallied per name for
  // the summary's root_group (groups are flattened into the check's path).
  sample(name, value, tags) {
    this.registry.add(name, value, tags);
    if (name !== 'checks') return;
    const path = `${tags.group || ''}::${tags.check}`;
    let c = this.checks.get(path);
    if (!c) this.checks.set(path, (c = { name: tags.check, path, id: path, passes: 0, fails: 0 }));
    if (value) c.passes++;
    else c.fails++;
  }

  rootGroup() {
    return { name: '', path: '', id: 'd41d8cd98f00b204e9800998ecf8427e', groups: [], checks: [...this.checks.values()] };
  }

  // take gives n idle VUs to a scenario, initializing more if needed.
  async take(n) {
    const got = this.idle.splice(0, n);
    while (got.length < n) got.push(await this.newVU());
    return got;
  }

  // iterate runs one iteration of sc on vu and records it.
  async iterate(vu, sc, inScenario) {
    const t0 = Date.now();
    const tags = { ...(this.options.tags || {}), ...sc.tags };
    vu.inScenario[sc.name] ??= 0;
    const r = await vu.run({
      type: 'iteration', exec: sc.exec, tags, env: Object.keys(sc.env).length ? sc.env : undefined,
      scenario: { name: sc.name, executor: sc.executor, startTime: sc.started, plannedMs: sc.duration || 1 },
      iteration: { inScenario, inVU: vu.iterations++, inVUScenario: vu.inScenario[sc.name]++ },
      instance: { startTime: this.testStart, vusActive: this.vus.filter((v) => v.busy).length, vusInitialized: this.vus.length },
    });
    const sampleTags = { ...tags, scenario: sc.name, group: '' };
    if (r.interrupted) {
      this.interrupted++;
      return;
    }
    this.registry.add('iterations', 1, sampleTags);
    this.registry.add('iteration_duration', Date.now() - t0, sampleTags);
    if (r.error && !this.aborted) {
      // k6 logs every one; the harness logs each distinct error once.
      this.iterationErrors++;
      const seen = this.errorsSeen.get(r.error.message) || 0;
      this.errorsSeen.set(r.error.message, seen + 1);
      if (!seen) this.log('error', r.error.stack || r.error.message, { executor: sc.executor, scenario: sc.name, source: 'stacktrace' });
    }
  }

  async runScenario(sc) {
    await delay(sc.startTime);
    if (this.aborted) return;
    const vus = await this.take(sc.vus);
    sc.started = Date.now();
    const end = sc.started + sc.duration;
    let count = 0;
    const running = new Set();
    const track = (p) => { running.add(p); p.finally(() => running.delete(p)); return p; };
    const stopped = () => this.aborted || Date.now() >= end;
    // A VU whose worker died (stopped, or crashed) leaves its loop.
    let loops = [];
    switch (sc.executor) {
      case 'shared-iterations':
        loops = vus.map(async (vu) => {
          while (!stopped() && !vu.dead && count < sc.iterations) await track(this.iterate(vu, sc, count++));
        });
        break;
      case 'per-vu-iterations':
        loops = vus.map(async (vu) => {
          for (let i = 0; i < sc.iterations && !stopped() && !vu.dead; i++) await track(this.iterate(vu, sc, count++));
        });
        break;
      case 'constant-vus':
        loops = vus.map(async (vu) => {
          while (!stopped() && !vu.dead) await track(this.iterate(vu, sc, count++));
        });
        break;
      case 'ramping-vus': {
        // VU i runs while i < the interpolated target; one above it
        // finishes its iteration and waits (k6 would interrupt it after
        // gracefulRampDown).
        const target = (ms) => {
          let from = sc.startVUs;
          for (const st of sc.stages) {
            if (ms < st.duration) return from + ((st.target - from) * ms) / st.duration;
            ms -= st.duration;
            from = st.target;
          }
          return from;
        };
        loops = vus.map(async (vu, i) => {
          while (!stopped() && !vu.dead) {
            if (i >= Math.round(target(Date.now() - sc.started))) await delay(50);
            else await track(this.iterate(vu, sc, count++));
          }
        });
        break;
      }
      default: { // arrival rates
        const free = [...vus];
        let initializing = 0;
        let warned = false;
        for (const at of arrivals(sc)) {
          await delay(sc.started + at - Date.now());
          if (this.aborted) break;
          const vu = free.shift();
          if (!vu) {
            this.registry.add('dropped_iterations', 1, { scenario: sc.name, ...sc.tags });
            if (vus.length + initializing < sc.maxVUs) {
              initializing++;
              this.newVU().then((v) => { initializing--; vus.push(v); free.push(v); }, (err) => {
                initializing--;
                this.log('error', err.message, { scenario: sc.name });
              });
            } else if (!warned) {
              warned = true;
              this.log('warn', `Insufficient VUs, reached ${sc.maxVUs} active VUs and cannot initialize more`, { executor: sc.executor, scenario: sc.name });
            }
            continue;
          }
          track(this.iterate(vu, sc, count++).then(() => { if (!vu.dead) free.push(vu); }));
        }
        loops = [];
      }
    }
    // The scenario's time is up (or its iterations are done): running
    // iterations get gracefulStop to finish, then are interrupted.
    const loopsDone = Promise.all(loops);
    const soft = timer(end - Date.now());
    await Promise.race([loopsDone, soft.promise]);
    soft.cancel();
    const hard = timer(Math.max(0, end - Date.now()) + sc.gracefulStop);
    const r = await Promise.race([Promise.all([loopsDone, ...running]).then(() => 'done'), hard.promise.then(() => 'timeout')]);
    hard.cancel();
    if (r === 'timeout') {
      const busy = vus.filter((v) => v.busy);
      this.log('warn', `${busy.length} iteration(s) interrupted after gracefulStop`, { scenario: sc.name });
      await Promise.all(busy.map((v) => v.stop()));
      await loopsDone;
    }
    this.idle.push(...vus.filter((v) => !v.dead));
  }
}
