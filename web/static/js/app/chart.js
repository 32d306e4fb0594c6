// chart.js: a tiny canvas line chart for the admin dashboard: a fixed
// window of the latest points per series, redrawn on each push (one
// stats frame a second), its y axis scaled to the largest value shown.

export class LineChart {
  // series: [{label, color}]; size is how many points are kept.
  constructor(canvas, series, size = 120) {
    this.canvas = canvas;
    this.series = series;
    this.size = size;
    this.points = series.map(() => []);
    this.draw();
  }

  // push adds one value per series.
  push(values) {
    values.forEach((v, i) => {
      const p = this.points[i];
      p.push(Number.isFinite(v) ? v : 0);
      if (p.length > this.size) p.shift();
    });
    this.draw();
  }

  legend() {
    const ul = document.createElement('ul');
    ul.className = 'legend';
    for (const s of this.series) {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = s.color;
      li.append(sw, ` ${s.label}`);
      ul.append(li);
    }
    return ul;
  }

  draw() {
    const c = this.canvas, g = c.getContext('2d');
    const w = c.width, ht = c.height, pad = 28;
    g.clearRect(0, 0, w, ht);
    const max = Math.max(1, ...this.points.flat());
    g.strokeStyle = '#ccd';
    g.fillStyle = '#556';
    g.font = '11px sans-serif';
    g.lineWidth = 1;
    for (let k = 0; k <= 4; k++) {
      const y = ht - pad / 2 - (k / 4) * (ht - pad);
      g.beginPath(); g.moveTo(pad, y); g.lineTo(w, y); g.stroke();
      g.fillText((max * k / 4).toFixed(max < 8 ? 1 : 0), 2, y + 4);
    }
    this.points.forEach((p, i) => {
      if (p.length < 2) return;
      g.strokeStyle = this.series[i].color;
      g.lineWidth = 2;
      g.beginPath();
      p.forEach((v, j) => {
        const x = pad + (j + this.size - p.length) * (w - pad) / (this.size - 1);
        const y = ht - pad / 2 - (v / max) * (ht - pad);
        if (j === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
    });
  }
}
