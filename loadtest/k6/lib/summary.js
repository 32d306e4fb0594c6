// summary.js: the end-of-test report of the three scripts (k6 calls the
// exported handleSummary with the run's metrics). It prints the thresholds
// and the figures that matter, and names what a load generator cannot see:
// the hard rule lives in the database and is checked afterwards with
// `boxoffice check`. With -e SUMMARY_JSON=file the raw data is written too.

const COUNTERS = ['iterations', 'dropped_iterations', 'orders', 'declines', 'holds_lost', 'hold_conflicts', 'fan_errors', 'seat_frames', 'ws_sessions'];
const TRENDS = ['http_req_duration{name:hold}', 'http_req_duration{name:confirm}', 'http_req_duration{name:availability}', 'ws_connecting', 'iteration_duration'];

export function summary(data, script) {
  const m = data.metrics;
  const lines = [`${script}: ${(data.state.testRunDurationMs / 1000).toFixed(1)} s`];
  for (const name of COUNTERS) if (m[name]) lines.push(`  ${name.padEnd(22)} ${m[name].values.count}`);
  if (m.checks) lines.push(`  ${'checks'.padEnd(22)} ${(m.checks.values.rate * 100).toFixed(2)}% of ${m.checks.values.passes + m.checks.values.fails}`);
  for (const name of TRENDS) {
    const v = m[name]?.values;
    if (v) lines.push(`  ${name.padEnd(38)} p(95) ${v['p(95)'].toFixed(1)} ms  max ${v.max.toFixed(1)} ms`);
  }
  for (const c of data.root_group.checks) if (c.fails) lines.push(`  check failed ${c.fails}×: ${c.name}`);
  lines.push('Thresholds:');
  for (const [name, metric] of Object.entries(m)) {
    for (const [expr, r] of Object.entries(metric.thresholds || {})) lines.push(`  ${r.ok ? 'ok    ' : 'FAILED'} ${name} ${expr}`);
  }
  lines.push(
    'Check afterwards (the hard rule lives in the database, which k6 cannot see):',
    `  DATABASE_URL=... boxoffice check -event ${__ENV.EVENT || 'EVENT'}`,
    '  no seat sold twice; every seat available, held, sold or reserved exactly once;',
    '  at most one captured payment per order; no authorized payment without an order.',
    '',
  );
  const out = { stdout: lines.join('\n') };
  if (__ENV.SUMMARY_JSON) out[__ENV.SUMMARY_JSON] = JSON.stringify(data, null, 2);
  return out;
}
