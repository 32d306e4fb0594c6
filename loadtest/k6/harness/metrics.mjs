// metrics.mjs: the engine's metric registry (main thread). Holds every
// sample's aggregate per metric and per threshold submetric, evaluates the
// thresholds at the end and builds the data k6 hands to handleSummary.
// Trends keep every value, as k6's default sink does, so percentiles are
// exact for the short runs the harness is for.

// k6's built-in metrics: [type, contains]. Only metrics that received a
// sample appear in the summary, as in k6.
const BUILTIN = {
  checks: ['rate', 'default'],
  data_received: ['counter', 'data'],
  data_sent: ['counter', 'data'],
  dropped_iterations: ['counter', 'default'],
  group_duration: ['trend', 'time'],
  http_req_blocked: ['trend', 'time'],
  http_req_connecting: ['trend', 'time'],
  http_req_duration: ['trend', 'time'],
  http_req_failed: ['rate', 'default'],
  http_req_receiving: ['trend', 'time'],
  http_req_sending: ['trend', 'time'],
  http_req_tls_handshaking: ['trend', 'time'],
  http_req_waiting: ['trend', 'time'],
  http_reqs: ['counter', 'default'],
  iteration_duration: ['trend', 'time'],
  iterations: ['counter', 'default'],
  vus: ['gauge', 'default'],
  vus_max: ['gauge', 'default'],
  ws_connecting: ['trend', 'time'],
  ws_msgs_received: ['counter', 'default'],
  ws_msgs_sent: ['counter', 'default'],
  ws_ping: ['trend', 'time'],
  ws_session_duration: ['trend', 'time'],
  ws_sessions: ['counter', 'default'],
};

// Metric names k6 (v1 and later) accepts.
const NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/;

// Which aggregations a threshold may use on each metric type.
const AGGS = {
  counter: ['count', 'rate'],
  gauge: ['value'],
  rate: ['rate'],
  trend: ['avg', 'min', 'max', 'med', 'p'],
};

export class ConfigError extends Error {}

class Sink {
  constructor(type) {
    this.type = type;
    this.count = 0; this.sum = 0; this.values = []; this.passes = 0;
    this.min = Infinity; this.max = -Infinity; this.last = 0;
  }

  add(v) {
    this.count++;
    this.sum += v;
    this.last = v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.type === 'trend') this.values.push(v);
    if (this.type === 'rate' && v !== 0) this.passes++;
  }

  // value of one aggregation; durationMs for a counter's rate.
  agg(name, durationMs, p) {
    const sorted = () => (this.sortedValues ||= [...this.values].sort((a, b) => a - b));
    switch (name) {
      case 'count': return this.type === 'counter' ? this.sum : this.count;
      case 'rate': return this.type === 'counter' ? this.sum / Math.max(durationMs / 1000, 1e-9) : (this.count ? this.passes / this.count : 0);
      case 'value': return this.last;
      case 'avg': return this.count ? this.sum / this.count : 0;
      case 'min': return this.count ? this.min : 0;
      case 'max': return this.count ? this.max : 0;
      case 'med': return percentile(sorted(), 50);
      case 'p': return percentile(sorted(), p);
      default: throw new Error(`unknown aggregation ${name}`);
    }
  }
}

// percentile as k6's trend sink computes it: linear between closest ranks.
function percentile(sorted, p) {
  if (!sorted.length) return 0;
  if (sorted.length === 1) return sorted[0];
  const i = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (i - lo);
}

// parseSelector splits 'http_req_duration{name:hold,status:201}'.
function parseSelector(key) {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) throw new ConfigError(`invalid threshold metric ${JSON.stringify(key)}`);
  const tags = {};
  if (m[2] !== undefined) {
    for (const part of m[2].split(',')) {
      const i = part.indexOf(':');
      if (i < 1) throw new ConfigError(`invalid threshold submetric ${JSON.stringify(key)}: tags are name:value`);
      tags[part.slice(0, i).trim()] = part.slice(i + 1).trim().replace(/^["']|["']$/g, '');
    }
  }
  return { name: m[1].trim(), tags };
}

const EXPR = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|<|>|===|==|!=)\s*(-?\d+(?:\.\d+)?)\s*$/;

function parseThreshold(src) {
  const m = EXPR.exec(src);
  if (!m) throw new ConfigError(`invalid threshold expression ${JSON.stringify(src)}`);
  return { src, agg: m[2] !== undefined ? 'p' : m[1], p: Number(m[2]), op: m[3], want: Number(m[4]) };
}

function compare(got, op, want) {
  switch (op) {
    case '<': return got < want;
    case '<=': return got <= want;
    case '>': return got > want;
    case '>=': return got >= want;
    case '==': case '===': return got === want;
    case '!=': return got !== want;
  }
  return false;
}

export class Registry {
  constructor() {
    this.metrics = new Map(); // name → {type, contains, sink, subs: [{key, tags, sink}]}
    for (const [name, [type, contains]] of Object.entries(BUILTIN)) this.define(name, type, contains === 'time');
    this.thresholds = []; // {key, metric, tags, exprs, abortOnFail}
  }

  // define registers a metric (k6's registry: the same name may be declared
  // again only with the same type and value type).
  define(name, type, isTime) {
    if (!NAME.test(name)) throw new Error(`Invalid metric name: '${name}'`);
    const contains = BUILTIN[name]?.[1] ?? (isTime ? 'time' : 'default');
    const have = this.metrics.get(name);
    if (have) {
      if (have.type !== type || (have.contains === 'time') !== (contains === 'time')) {
        throw new Error(`metric '${name}' already exists but with type ${have.type}, instead of ${type}`);
      }
      return;
    }
    this.metrics.set(name, { type, contains, sink: new Sink(type), subs: [] });
  }

  // setThresholds parses options.thresholds; called once the script's
  // metrics are declared, so an unknown metric is a config error as in k6.
  setThresholds(thresholds = {}) {
    for (const [key, list] of Object.entries(thresholds)) {
      const { name, tags } = parseSelector(key);
      const m = this.metrics.get(name);
      if (!m) throw new ConfigError(`invalid threshold defined on ${key}; reason: no metric name "${name}" found`);
      const exprs = (Array.isArray(list) ? list : [list]).map((t) => {
        const e = parseThreshold(typeof t === 'string' ? t : t.threshold);
        if (!AGGS[m.type].includes(e.agg)) {
          throw new ConfigError(`invalid threshold defined on ${key}; reason: the ${e.src.trim()} aggregation is not supported for a ${m.type} metric`);
        }
        e.abortOnFail = typeof t === 'object' && !!t.abortOnFail;
        e.delayAbortEval = typeof t === 'object' ? t.delayAbortEval : undefined;
        return e;
      });
      let sink = m.sink;
      if (Object.keys(tags).length) {
        sink = new Sink(m.type);
        m.subs.push({ key, tags, sink });
      }
      this.thresholds.push({ key, metric: name, exprs, sink });
    }
  }

  add(name, value, tags = {}) {
    const m = this.metrics.get(name);
    if (!m) throw new Error(`harness: sample for undeclared metric ${name}`);
    m.sink.add(value);
    for (const s of m.subs) {
      if (Object.entries(s.tags).every(([k, v]) => String(tags[k]) === v)) s.sink.add(value);
    }
  }

  // evaluate returns {key: {expr: ok}} and whether all passed.
  evaluate(durationMs) {
    const out = {};
    let ok = true;
    for (const t of this.thresholds) {
      out[t.key] ||= {};
      for (const e of t.exprs) {
        // k6 evaluates a threshold whose metric saw no sample as passing.
        const pass = t.sink.count === 0 || compare(t.sink.agg(e.agg, durationMs, e.p), e.op, e.want);
        out[t.key][e.src] = { ok: pass };
        ok &&= pass;
      }
    }
    return { results: out, ok };
  }

  // summaryData is the `data` argument of handleSummary (metrics part).
  summaryMetrics(durationMs, trendStats, results) {
    const metrics = {};
    const values = (type, sink) => {
      switch (type) {
        case 'counter': return { count: sink.sum, rate: sink.agg('rate', durationMs) };
        case 'gauge': return { value: sink.last, min: sink.agg('min'), max: sink.agg('max') };
        case 'rate': return { rate: sink.agg('rate'), passes: sink.passes, fails: sink.count - sink.passes };
        default: {
          const v = {};
          for (const s of trendStats) {
            const pm = /^p\((\d+(?:\.\d+)?)\)$/.exec(s);
            v[s] = pm ? sink.agg('p', durationMs, Number(pm[1])) : sink.agg(s);
          }
          return v;
        }
      }
    };
    const put = (key, m, sink) => {
      if (sink.count === 0) return;
      metrics[key] = { type: m.type, contains: m.contains, values: values(m.type, sink) };
      if (results[key]) metrics[key].thresholds = results[key];
    };
    for (const [name, m] of this.metrics) {
      put(name, m, m.sink);
      for (const s of m.subs) put(s.key, m, s.sink);
    }
    // A threshold on a metric without samples still shows, as in k6.
    for (const [key, r] of Object.entries(results)) {
      if (!metrics[key]) {
        const name = parseSelector(key).name;
        const m = this.metrics.get(name);
        metrics[key] = { type: m.type, contains: m.contains, values: values(m.type, new Sink(m.type)), thresholds: r };
      }
    }
    return metrics;
  }
}

// textSummary renders summary data roughly as k6's end-of-test summary.
export function textSummary(data) {
  const lines = [];
  const fmt = (m, v) => {
    if (m.contains === 'time') return v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${v.toFixed(2)}ms`;
    if (m.contains === 'data') return v >= 1e6 ? `${(v / 1e6).toFixed(1)} MB` : `${(v / 1e3).toFixed(1)} kB`;
    return Number.isInteger(v) ? String(v) : v.toFixed(4);
  };
  for (const key of Object.keys(data.metrics).sort()) {
    const m = data.metrics[key];
    const mark = m.thresholds ? (Object.values(m.thresholds).every((t) => t.ok) ? '✓ ' : '✗ ') : '  ';
    let vals;
    switch (m.type) {
      case 'counter': vals = `${fmt(m, m.values.count)} ${m.values.rate.toFixed(2)}/s`; break;
      case 'gauge': vals = `${m.values.value} min=${m.values.min} max=${m.values.max}`; break;
      case 'rate': vals = `${(m.values.rate * 100).toFixed(2)}% ✓ ${m.values.passes} ✗ ${m.values.fails}`; break;
      default: vals = Object.entries(m.values).map(([k, v]) => `${k}=${fmt(m, v)}`).join(' ');
    }
    lines.push(`  ${mark}${key.padEnd(40, '.')}: ${vals}`);
    for (const [expr, r] of Object.entries(m.thresholds || {})) lines.push(`      ${r.ok ? '✓' : '✗'} ${expr}`);
  }
  return lines.join('\n') + '\n';
}
