// timechart.js: the admin dashboard's live time-series chart, drawn by
// uPlot (vendored in /vendor/uplot): a time axis, crisp on high-DPI
// screens (uPlot scales its canvas by devicePixelRatio), a window of the
// latest points, one push per 1 Hz stats frame. Series on the "rate" scale
// share the left axis; a series with scale "money" gets the right one.
import uPlot from '/vendor/uplot/uPlot.esm.js';

let cssLoaded = false;

// loadCSS adds uPlot's stylesheet once (a <link>: the page's
// Content-Security-Policy allows stylesheets of its own origin only).
function loadCSS() {
  if (cssLoaded) return;
  cssLoaded = true;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/vendor/uplot/uPlot.min.css';
  document.head.append(link);
}

export class TimeChart {
  // series: [{label, color, scale?: 'rate'|'money', format?(v)}]; size is
  // how many points are kept (seconds, at one frame a second).
  constructor(el, series, { size = 600, height = 220, moneyFormat = (v) => String(v) } = {}) {
    loadCSS();
    this.el = el;
    this.size = size;
    this.times = [];
    this.points = series.map(() => []);
    const hasMoney = series.some((s) => s.scale === 'money');
    const opts = {
      width: Math.max(320, el.clientWidth || 640),
      height,
      scales: { x: { time: true }, rate: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        ...(hasMoney ? { money: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } } : {}) },
      axes: [
        {},
        { scale: 'rate', label: 'per second', size: 50 },
        ...(hasMoney ? [{ scale: 'money', side: 1, grid: { show: false }, size: 80, values: (_u, vals) => vals.map(moneyFormat) }] : []),
      ],
      series: [{}, ...series.map((s) => ({
        label: s.label, stroke: s.color, width: 2, scale: s.scale || 'rate',
        value: (_u, v) => (v == null ? '–' : (s.format ? s.format(v) : v.toFixed(1))),
      }))],
      legend: { live: true },
    };
    this.plot = new uPlot(opts, [[], ...series.map(() => [])], el);
    this.resizer = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - this.plot.width) > 2) this.plot.setSize({ width: w, height });
    });
    this.resizer.observe(el);
  }

  // push adds one value per series at time t (a Date or ms since epoch).
  push(t, values) {
    this.times.push(+t / 1000);
    values.forEach((v, i) => this.points[i].push(Number.isFinite(v) ? v : 0));
    if (this.times.length > this.size) {
      this.times.shift();
      this.points.forEach((p) => p.shift());
    }
    this.plot.setData([this.times, ...this.points]);
  }

  destroy() {
    this.resizer.disconnect();
    this.plot.destroy();
  }
}
