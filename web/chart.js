// chart.js - the loss chart, drawn directly on a canvas (no chart library: the page must
// work offline from a plain static server and stay small).
//
//   const chart = new LossChart(canvas);
//   chart.setData({ train: [[chars, loss], ...], val: [[chars, loss], ...], epochChars });
//
// Colours come from CSS custom properties on the canvas (--chart-train, --chart-val,
// --chart-grid, --chart-text, --chart-muted), so the stylesheet decides the look.

const MARGIN = { left: 58, right: 18, top: 34, bottom: 44 };

/** 1, 2 or 5 times a power of ten, near range / count. */
function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/** 0, 500, 20k, 1.5M: short labels for character counts. */
export function formatCount(n) {
  const a = Math.abs(n);
  if (a >= 1e9) return `${+(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

export class LossChart {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    this.train = [];
    this.val = [];
    this.epochChars = 0;
    this.frame = 0;
    this.draws = 0;
    // Redraw at the new size when the layout changes (and at the device's pixel ratio).
    new ResizeObserver(() => this.schedule()).observe(canvas);
  }

  setData({ train, val, epochChars = 0 }) {
    this.train = train;
    this.val = val;
    this.epochChars = epochChars;
    this.schedule();
  }

  /** Coalesce redraws to one per animation frame however often data arrives. */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  colors() {
    const css = getComputedStyle(this.canvas);
    const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    return {
      train: v('--chart-train', '#2563eb'),
      val: v('--chart-val', '#e8590c'),
      grid: v('--chart-grid', '#e5e7eb'),
      text: v('--chart-text', '#374151'),
      muted: v('--chart-muted', '#9ca3af'),
      font: css.fontFamily || 'system-ui, sans-serif',
    };
  }

  draw() {
    const { canvas } = this;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const c = this.colors();
    const plot = { x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
    const all = [...this.train, ...this.val];
    this.draws++;
    canvas.dataset.points = String(all.length);
    canvas.dataset.draws = String(this.draws);

    ctx.font = `12px ${c.font}`;
    if (all.length === 0) {
      ctx.fillStyle = c.muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('The training and validation loss appear here once training starts.', width / 2, height / 2);
      return;
    }

    // Ranges: x from 0; y padded a little around the data, on "nice" ticks.
    const xMax = Math.max(...all.map((p) => p[0]), 1);
    let yMin = Math.min(...all.map((p) => p[1]));
    let yMax = Math.max(...all.map((p) => p[1]));
    if (yMax - yMin < 0.1) { yMin -= 0.05; yMax += 0.05; }
    const yStep = niceStep(yMax - yMin, Math.max(3, Math.floor(plot.h / 48)));
    yMin = Math.max(0, Math.floor(yMin / yStep) * yStep);
    yMax = Math.ceil(yMax / yStep) * yStep;
    const xStep = niceStep(xMax, Math.max(2, Math.floor(plot.w / 90)));
    const xEnd = Math.max(xMax, xStep);
    const X = (x) => plot.x + (x / xEnd) * plot.w;
    const Y = (y) => plot.y + (1 - (y - yMin) / (yMax - yMin)) * plot.h;

    // Grid and tick labels.
    ctx.lineWidth = 1;
    ctx.strokeStyle = c.grid;
    ctx.fillStyle = c.text;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let y = yMin; y <= yMax + yStep / 2; y += yStep) {
      const py = Math.round(Y(y)) + 0.5;
      ctx.beginPath(); ctx.moveTo(plot.x, py); ctx.lineTo(plot.x + plot.w, py); ctx.stroke();
      ctx.fillText(y.toFixed(yStep < 0.1 ? 2 : 1), plot.x - 8, py);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let x = 0; x <= xEnd * 1.0001; x += xStep) { // no tick past the data's end
      const px = Math.round(X(x)) + 0.5;
      ctx.beginPath(); ctx.moveTo(px, plot.y + plot.h); ctx.lineTo(px, plot.y + plot.h + 4); ctx.stroke();
      ctx.fillText(formatCount(x), px, plot.y + plot.h + 8);
    }

    // Epoch boundaries, when there are few enough to label.
    if (this.epochChars > 0 && xEnd / this.epochChars <= 12) {
      ctx.save();
      ctx.setLineDash([4, 4]);
      ctx.strokeStyle = c.muted;
      ctx.fillStyle = c.muted;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'top';
      for (let e = 1; e * this.epochChars <= xEnd; e++) {
        const px = Math.round(X(e * this.epochChars)) + 0.5;
        ctx.beginPath(); ctx.moveTo(px, plot.y); ctx.lineTo(px, plot.y + plot.h); ctx.stroke();
        ctx.fillText(`epoch ${e}`, px + 4, plot.y + 4);
      }
      ctx.restore();
    }

    // Axis titles.
    ctx.fillStyle = c.text;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText('characters seen', plot.x + plot.w / 2, height - 4);
    ctx.save();
    ctx.translate(14, plot.y + plot.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText('loss (nats / character)', 0, 0);
    ctx.restore();

    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.x, plot.y - 2, plot.w + 2, plot.h + 4);
    ctx.clip();
    ctx.lineJoin = 'round';
    // Training loss: the raw per-chunk means, faint, and their moving average.
    const smoothed = smoothLoss(this.train);
    if (this.train.length) {
      ctx.globalAlpha = 0.25;
      ctx.strokeStyle = c.train;
      ctx.lineWidth = 1;
      this.line(ctx, this.train, X, Y);
      ctx.globalAlpha = 1;
      ctx.lineWidth = 2;
      this.line(ctx, smoothed, X, Y);
    }
    // Validation loss: a line with markers (points are seconds apart).
    if (this.val.length) {
      ctx.strokeStyle = c.val;
      ctx.fillStyle = c.val;
      ctx.lineWidth = 2;
      this.line(ctx, this.val, X, Y);
      for (const [x, y] of this.val) {
        ctx.beginPath(); ctx.arc(X(x), Y(y), 3, 0, 2 * Math.PI); ctx.fill();
      }
    }
    ctx.restore();

    // Legend with the latest values.
    const lastTrain = smoothed.at(-1)?.[1];
    const lastVal = this.val.at(-1)?.[1];
    const items = [
      [c.train, `training${lastTrain != null ? ` ${lastTrain.toFixed(3)}` : ''}`, false],
      [c.val, `validation${lastVal != null ? ` ${lastVal.toFixed(3)}` : ''}`, true],
    ];
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    let lx = plot.x + 4;
    const ly = MARGIN.top / 2;
    for (const [color, label, dot] of items) {
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(lx, ly); ctx.lineTo(lx + 18, ly); ctx.stroke();
      if (dot) { ctx.beginPath(); ctx.arc(lx + 9, ly, 3, 0, 2 * Math.PI); ctx.fill(); }
      ctx.fillStyle = c.text;
      ctx.fillText(label, lx + 24, ly);
      lx += 24 + ctx.measureText(label).width + 22;
    }
  }

  line(ctx, points, X, Y) {
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(X(x), Y(y)) : ctx.moveTo(X(x), Y(y))));
    ctx.stroke();
  }
}

/**
 * The training loss with its noise averaged out: a centred moving average whose window
 * grows with the number of points (up to 2 x 25 + 1), so that it does not lag behind a fast
 * early drop the way a trailing average would.
 */
export function smoothLoss(points) {
  const k = Math.min(25, Math.floor(points.length / 40));
  if (k === 0) return points;
  const prefix = [0];
  for (const [, y] of points) prefix.push(prefix.at(-1) + y);
  return points.map(([x], i) => {
    // Symmetric near the start (the first point stays the first loss), one-sided at the end.
    const r = Math.min(k, i);
    const lo = i - r;
    const hi = Math.min(points.length - 1, i + r);
    return [x, (prefix[hi + 1] - prefix[lo]) / (hi - lo + 1)];
  });
}
