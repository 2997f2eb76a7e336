// Medians, percentiles, paired ratios and Markdown tables.

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an array; sorts a copy unless `sorted`. */
export function percentile(xs, p, sorted = false) {
  const v = sorted ? xs : Float64Array.from(xs).sort();
  if (!v.length) return NaN;
  const i = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[i];
}

export function minMax(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? [Math.min(...v), Math.max(...v)] : [NaN, NaN];
}

/** Median over rounds of a[i]/b[i] (paired by round). */
export function pairedRatio(a, b) {
  const r = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] > 0 && b[i] > 0) r.push(a[i] / b[i]);
  return median(r);
}

/** Number formatting: integers with no decimals above 100, 3 significant digits below. */
export function fmt(x, digits) {
  if (x === undefined || x === null || (typeof x === 'number' && !Number.isFinite(x))) return '—';
  if (typeof x !== 'number') return String(x);
  if (digits !== undefined) return x.toFixed(digits);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toString();
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  return x.toFixed(3);
}

export const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');

/** A Markdown table from a header row and rows of cells; numbers right-aligned. */
export function table(header, rows, align) {
  const al = align ?? header.map((_, i) => (i === 0 ? '---' : '---:'));
  const line = (cells) => `| ${cells.map((c) => String(c ?? '—')).join(' | ')} |`;
  return [line(header), line(al), ...rows.map(line)].join('\n');
}

export function mb(bytes) {
  return bytes / (1024 * 1024);
}
