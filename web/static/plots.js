// Before/after plots drawn as inline SVG from the report's plot series (report.plots.input/output).
// SVG rather than canvas: it scales with the page, and its paths can be inspected by tests and assistive tools.

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = {left: 56, right: 16, top: 14, bottom: 40};

function svgEl(tag, attributes = {}, text = '') {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

function finite(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

function minus(text) {
  return String(text).replace('-', '\u2212');
}

// Rounds the data's extent out to whole steps and keeps a minimum span so flat data still reads.
function niceDomain(values, step, minSpan) {
  const data = values.filter(finite);
  if (data.length === 0) return [-60, 0];
  let lo = Math.floor(Math.min(...data) / step) * step;
  let hi = Math.ceil(Math.max(...data) / step) * step;
  if (hi - lo < minSpan) {
    const mid = (hi + lo) / 2;
    lo = Math.floor((mid - minSpan / 2) / step) * step;
    hi = lo + minSpan;
  }
  return [lo, hi];
}

function frame(svg) {
  const box = svg.viewBox.baseVal;
  const width = box && box.width ? box.width : 760;
  const height = box && box.height ? box.height : 300;
  svg.replaceChildren();
  return {width, height, x0: MARGIN.left, x1: width - MARGIN.right, y0: height - MARGIN.bottom, y1: MARGIN.top};
}

// Draws axes, grid and one path per series. A series is {name, className, points: [[x, y] | null]};
// null or non-finite y breaks the line (silence has no loudness).
function lineChart(svg, {xDomain, yDomain, xLog = false, xTicks, yTicks, xFormat, yFormat, xTitle, yTitle, series}) {
  const f = frame(svg);
  const tx = xLog ? Math.log10 : (v) => v;
  const [xa, xb] = [tx(xDomain[0]), tx(xDomain[1])];
  const sx = (x) => f.x0 + ((tx(x) - xa) / (xb - xa)) * (f.x1 - f.x0);
  const sy = (y) => f.y0 - ((y - yDomain[0]) / (yDomain[1] - yDomain[0])) * (f.y0 - f.y1);

  const grid = svgEl('g', {class: 'grid'});
  for (const y of yTicks) {
    grid.append(svgEl('line', {class: 'grid-line', x1: f.x0, x2: f.x1, y1: sy(y), y2: sy(y)}));
    grid.append(svgEl('text', {class: 'tick-label', x: f.x0 - 8, y: sy(y) + 4, 'text-anchor': 'end'}, yFormat(y)));
  }
  for (const x of xTicks) {
    grid.append(svgEl('line', {class: 'grid-line', x1: sx(x), x2: sx(x), y1: f.y0, y2: f.y1}));
    grid.append(svgEl('text', {class: 'tick-label', x: sx(x), y: f.y0 + 16, 'text-anchor': 'middle'}, xFormat(x)));
  }
  grid.append(svgEl('line', {class: 'axis-line', x1: f.x0, x2: f.x1, y1: f.y0, y2: f.y0}));
  grid.append(svgEl('line', {class: 'axis-line', x1: f.x0, x2: f.x0, y1: f.y0, y2: f.y1}));
  grid.append(svgEl('text', {class: 'axis-title', x: (f.x0 + f.x1) / 2, y: f.height - 6, 'text-anchor': 'middle'},
                    xTitle));
  grid.append(svgEl('text', {class: 'axis-title', x: 14, y: (f.y0 + f.y1) / 2, 'text-anchor': 'middle',
                             transform: `rotate(-90 14 ${(f.y0 + f.y1) / 2})`}, yTitle));
  svg.append(grid);

  const clamp = (y) => Math.min(Math.max(y, yDomain[0]), yDomain[1]);
  let drawn = 0;
  for (const s of series) {
    let d = '';
    let pen = false;
    let count = 0;
    for (const point of s.points) {
      if (!point || !finite(point[0]) || !finite(point[1])) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${sx(point[0]).toFixed(1)},${sy(clamp(point[1])).toFixed(1)}`;
      pen = true;
      count += 1;
    }
    if (count === 0) continue;
    svg.append(svgEl('path', {class: `series ${s.className}`, d, 'data-series': s.name, 'data-points': count}));
    drawn += 1;
  }
  if (drawn === 0) {
    svg.append(svgEl('text', {class: 'no-data', x: f.width / 2, y: f.height / 2, 'text-anchor': 'middle'},
                     'No data: the file is silent or too short to measure.'));
  }
  return drawn;
}

// Point i of shortTermLufs is the 3 s window ending at 3 s + i * hop (the loudness meter's convention). It is
// drawn at the window's centre, so a quiet passage shows up where it is in the music.
const SHORT_TERM_WINDOW_S = 3;

function timeSeries(plot) {
  const hop = plot && finite(plot.shortTermHopSeconds) ? plot.shortTermHopSeconds : 0;
  const values = plot && Array.isArray(plot.shortTermLufs) ? plot.shortTermLufs : [];
  return values.map((v, i) => (finite(v) ? [SHORT_TERM_WINDOW_S / 2 + i * hop, v] : null));
}

function timeTicks(durationS) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
  const step = steps.find((s) => durationS / s <= 8) || 1200;
  const ticks = [];
  for (let t = 0; t <= durationS + 1e-9; t += step) ticks.push(t);
  return ticks;
}

function formatTime(s) {
  const minutes = Math.floor(s / 60);
  const seconds = Math.round(s - minutes * 60);
  return minutes > 0 ? `${minutes}:${String(seconds).padStart(2, '0')}` : `${seconds} s`;
}

function stepTicks([lo, hi], step) {
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(v);
  return ticks;
}

export function drawLoudnessPlot(svg, {input, output, targetLufs, durationS}) {
  const before = timeSeries(input);
  const after = timeSeries(output);
  const lastT = Math.max(durationS || 0, ...[...before, ...after].filter(Boolean).map((p) => p[0]), 1);
  const levels = [...before, ...after].filter(Boolean).map((p) => p[1]);
  if (finite(targetLufs)) levels.push(targetLufs);
  const yDomain = niceDomain(levels, 3, 12);
  const series = [
    {name: 'before', className: 'before', points: before},
    {name: 'after', className: 'after', points: after},
  ];
  if (finite(targetLufs)) series.push({name: 'target', className: 'target', points: [[0, targetLufs], [lastT, targetLufs]]});
  return lineChart(svg, {
    xDomain: [0, lastT], yDomain, xTicks: timeTicks(lastT), yTicks: stepTicks(yDomain, yDomain[1] - yDomain[0] > 24 ? 6 : 3),
    xFormat: formatTime, yFormat: (v) => minus(v), xTitle: 'time', yTitle: 'LUFS (short-term)', series,
  });
}

function bandSeries(plot) {
  const centres = plot && Array.isArray(plot.bandCentresHz) ? plot.bandCentresHz : [];
  const levels = plot && Array.isArray(plot.bandLevelsDb) ? plot.bandLevelsDb : [];
  return centres.map((hz, i) => (finite(hz) && hz > 0 && finite(levels[i]) ? [hz, levels[i]] : null));
}

// The target curve is a shape (only its shape matters to tonal matching), so it is drawn with its mean moved
// onto the master's mean over the bands both cover.
function alignedTarget(targetCurve, after) {
  const curve = (Array.isArray(targetCurve) ? targetCurve : [])
      .filter((b) => finite(b.frequencyHz) && b.frequencyHz > 0 && finite(b.gainDb))
      .map((b) => [b.frequencyHz, b.gainDb]);
  const bands = after.filter(Boolean);
  // The master's level at hz: the nearest band within a sixth of an octave, if any.
  const levelAt = (hz) => {
    let best = null;
    for (const [bandHz, db] of bands) {
      const distance = Math.abs(Math.log2(hz / bandHz));
      if (distance <= 1 / 6 && (!best || distance < best.distance)) best = {distance, db};
    }
    return best ? best.db : null;
  };
  const offsets = curve.filter(([hz]) => hz >= 40 && hz <= 16000)
      .map(([hz, db]) => [levelAt(hz), db])
      .filter(([level]) => level !== null)
      .map(([level, db]) => level - db);
  if (offsets.length === 0) return [];
  const offset = offsets.reduce((sum, v) => sum + v, 0) / offsets.length;
  return curve.map(([hz, db]) => [hz, db + offset]);
}

export function drawSpectrumPlot(svg, {input, output, targetCurve}) {
  const before = bandSeries(input);
  const after = bandSeries(output);
  const target = alignedTarget(targetCurve, after);
  const levels = [...before, ...after, ...target].filter(Boolean).map((p) => p[1]);
  let yDomain = niceDomain(levels, 6, 24);
  if (yDomain[1] - yDomain[0] > 72) yDomain = [yDomain[1] - 72, yDomain[1]];  // keep the top 72 dB readable
  const xTicks = [31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000];
  return lineChart(svg, {
    xDomain: [20, 20000], xLog: true, yDomain, xTicks, yTicks: stepTicks(yDomain, yDomain[1] - yDomain[0] > 36 ? 12 : 6),
    xFormat: (hz) => (hz >= 1000 ? `${hz / 1000}k` : String(hz)), yFormat: (v) => minus(v),
    xTitle: 'frequency (Hz)', yTitle: 'band level (dB)',
    series: [
      {name: 'before', className: 'before', points: before},
      {name: 'after', className: 'after', points: after},
      {name: 'target', className: 'target', points: target},
    ],
  });
}
