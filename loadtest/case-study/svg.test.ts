import { describe, expect, it } from 'vitest';
import { buildSvg, escapeXml, niceTicks } from './svg.js';

describe('niceTicks', () => {
  it('round steps from 0 past the maximum', () => {
    expect(niceTicks(100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(47_300, 5)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(niceTicks(0.7, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });
});

describe('buildSvg', () => {
  const svg = buildSvg(
    [
      { title: 'Queue <full>', yLabel: 'visitors', series: [{ name: 'waiting', color: '#123456', points: [[0, 0], [50, 100], [100, 0]] }] },
      { title: 'Rate', yLabel: 'per minute', series: [{ name: 'admitted', color: 'red', points: [[0, 500], [100, 500]] }] },
    ],
    { title: 'T & t', xLabel: 'minutes', width: 500, panelHeight: 200 },
  );

  it('one polyline per series, scaled into the plot area', () => {
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]);
    expect(lines).toHaveLength(2);
    const pts = (lines[0] as string).split(' ').map((p) => p.split(',').map(Number));
    // x: 0 → left margin (70), 100 → right edge (500 − 20); y: 100 is the panel's top tick.
    expect(pts[0]?.[0]).toBe(70);
    expect(pts[2]?.[0]).toBe(480);
    expect(pts[1]?.[1]).toBeLessThan(pts[0]?.[1] as number);
    // 100 (the maximum) sits below the top tick (120): headroom above the line.
    const panelTop = 36 + 28;
    expect(pts[1]?.[1]).toBeGreaterThan(panelTop + 10);
  });

  it('is one well-formed svg document with escaped text', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="500" height="436"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('Queue &lt;full&gt;');
    expect(svg).toContain('T &amp; t');
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it('escapes every XML special character and refuses no panels', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
    expect(() => buildSvg([], { title: '', xLabel: '' })).toThrow();
  });
});
