/** Reading the server's own counters from its Prometheus text (GET /metrics), to cross-check a benchmark. */
import { request } from 'undici';

/** Parses `name{a="x",b="y"}` label sets; label values here never hold `"` or `,`. */
function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] as string] = m[2] as string;
  return labels;
}

/**
 * The sum of every sample of metric `name` whose labels include `labels` (label order does not
 * matter; other labels may be present). 0 when there is none.
 */
export function sumSamples(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    let labelText = '';
    let valueText: string;
    if (rest.startsWith('{')) {
      const end = rest.lastIndexOf('}');
      if (end < 0) continue;
      labelText = rest.slice(1, end);
      valueText = rest.slice(end + 1);
    } else if (rest.startsWith(' ')) {
      valueText = rest;
    } else {
      continue; // another metric whose name starts with this one
    }
    const have = labelsOf(labelText);
    if (!Object.entries(labels).every(([k, v]) => have[k] === v)) continue;
    const value = Number(valueText.trim().split(/\s+/)[0]);
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

export async function scrapeMetrics(origin: string, timeoutMs = 10_000): Promise<string> {
  const res = await request(`${origin}/metrics`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${origin}/metrics: ${res.statusCode}`);
  return text;
}
