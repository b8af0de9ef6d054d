/**
 * A hand-made SVG line chart (no plotting dependency): panels stacked over one x axis, each with
 * its own y scale, axes, ticks and one polyline per series. Pure: returns the SVG text.
 */

export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [x: number, y: number])[];
}

export interface Panel {
  title: string;
  yLabel: string;
  series: readonly Series[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  width?: number;
  panelHeight?: number;
}

const MARGIN = { left: 70, right: 20, top: 28, bottom: 40 };

/** Round tick values from 0 to at least `max` (steps of 1, 2 or 5 × 10^n), about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const rough = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= rough) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);
}

function label(v: number): string {
  return Math.abs(v) >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3)));
}

export function buildSvg(panels: readonly Panel[], opts: ChartOptions): string {
  if (panels.length === 0) throw new RangeError('no panels to draw');
  const width = opts.width ?? 900;
  const panelHeight = opts.panelHeight ?? 260;
  const height = 36 + panels.length * panelHeight;
  const plotW = width - MARGIN.left - MARGIN.right;
  let xMax = 0;
  for (const p of panels) for (const s of p.series) for (const [x] of s.points) xMax = Math.max(xMax, x);
  const xTicks = niceTicks(xMax, 10);
  const xTop = xTicks[xTicks.length - 1] as number;
  const sx = (x: number) => MARGIN.left + (x / xTop) * plotW;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(opts.title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const top = 36 + index * panelHeight + MARGIN.top;
    const plotH = panelHeight - MARGIN.top - MARGIN.bottom;
    let yMax = 0;
    for (const s of panel.series) for (const [, y] of s.points) yMax = Math.max(yMax, y);
    // Headroom above the highest point, so a flat line at the maximum does not hide in the frame.
    const yTicks = niceTicks(yMax * 1.1, 5);
    const yTop = yTicks[yTicks.length - 1] as number;
    const sy = (y: number) => top + plotH - (y / yTop) * plotH;
    out.push(`<text x="${MARGIN.left}" y="${top - 8}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    for (const t of yTicks) {
      const y = sy(t).toFixed(1);
      out.push(`<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(t)}</text>`);
    }
    for (const t of xTicks) {
      const x = sx(t).toFixed(1);
      out.push(`<line x1="${x}" x2="${x}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#333"/>`);
      out.push(`<text x="${x}" y="${top + plotH + 16}" text-anchor="middle">${label(t)}</text>`);
    }
    out.push(`<line x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
    out.push(
      `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`,
      `<text x="${MARGIN.left + plotW / 2}" y="${top + plotH + 32}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`,
    );
    panel.series.forEach((s, i) => {
      const points = s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      out.push(`<polyline fill="none" stroke="${escapeXml(s.color)}" stroke-width="1.8" points="${points}"/>`);
      const lx = width - MARGIN.right - 190;
      const ly = top + 6 + i * 16;
      out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly}" y2="${ly}" stroke="${escapeXml(s.color)}" stroke-width="3"/>`);
      out.push(`<text x="${lx + 24}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
