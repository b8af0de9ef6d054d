import type { Registry } from 'prom-client';
import type { Route } from '../router.js';

export interface HealthReport {
  healthy: boolean;
  components: Record<string, 'healthy' | 'unhealthy' | 'embedded'>;
}

/** Health, JWKS and metrics. */
export function systemRoutes(d: {
  version: string;
  nodeId: string;
  startedAt: number;
  health: () => Promise<HealthReport>;
  jwks: () => unknown;
  registry: Registry;
}): Route[] {
  const health: Route['handler'] = async () => {
    const report = await d.health();
    return {
      status: report.healthy ? 200 : 503,
      json: {
        status: report.healthy ? 'healthy' : 'unhealthy',
        version: d.version,
        uptime_seconds: Math.floor((Date.now() - d.startedAt) / 1000),
        node: d.nodeId,
        components: report.components,
      },
      headers: { 'cache-control': 'no-store' },
    };
  };
  return [
    { method: 'GET', pattern: '/health', handler: health },
    { method: 'GET', pattern: '/api/v1/health', handler: health },
    {
      method: 'GET',
      pattern: '/.well-known/jwks.json',
      handler: () => ({ status: 200, json: d.jwks(), headers: { 'cache-control': 'public, max-age=300' } }),
    },
    {
      method: 'GET',
      pattern: '/metrics',
      handler: async () => ({ status: 200, text: await d.registry.metrics(), contentType: d.registry.contentType }),
    },
  ];
}
