import { existsSync, readFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config.js';
import { REPO_ROOT } from '../support/process.js';

/**
 * No Docker engine runs here, so this checks what can be checked without one: docker-compose.yml,
 * the Dockerfile and the files they mount agree with each other and with the server's config.
 */

interface Service {
  image?: string;
  build?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, unknown> | string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
}
interface Compose {
  services: Record<string, Service>;
  secrets?: Record<string, { file: string }>;
  networks?: { default?: { ipam?: { config?: { subnet: string }[] } } };
}

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose;
const services = compose.services;
const rootPackage = JSON.parse(read('package.json')) as { version: string; scripts: { start: string } };

/** KEY=value lines of .env.example: what docker compose reads from .env. */
const exampleEnv = Object.fromEntries(
  read('.env.example')
    .split('\n')
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);

/** Docker Compose's interpolation (`${X}`, `${X:-default}`, `${X:?error}`), against .env.example. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_, name: string, kind?: string, arg?: string) => {
    const given = exampleEnv[name];
    if (given !== undefined && given !== '') return given;
    if (kind === '-') return arg ?? '';
    throw new Error(`${name} is required by docker-compose.yml but missing from .env.example`);
  });
}

const commandOf = (s: Service) => (Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/).filter(Boolean));
/** The server containers: the ones built from this repository's Dockerfile. */
const serverNames = Object.keys(services).filter((name) => services[name]?.build !== undefined);
const serverEnv = (name: string) =>
  Object.fromEntries(Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));

/** The port each service listens on inside the network, from its own settings. */
function listenPort(name: string): number {
  const service = services[name];
  if (!service) throw new Error(`no service ${name}`);
  if (serverNames.includes(name)) return loadConfig(serverEnv(name)).port;
  const flags = commandOf(service).join(' ');
  const image = service.image ?? '';
  if (image.includes('/dragonfly:')) {
    expect(flags).not.toMatch(/--port/);
    return 6379;
  }
  if (image.startsWith('nats:')) {
    expect(flags).not.toMatch(/(^|\s)(-p|--port)\b/);
    return 4222;
  }
  if (image.startsWith('prom/prometheus:')) {
    expect(flags).not.toMatch(/--web\.listen-address/);
    return 9090;
  }
  if (image.startsWith('grafana/grafana:')) {
    expect(service.environment?.GF_SERVER_HTTP_PORT).toBeUndefined();
    return 3000;
  }
  if (image.startsWith('nginx:')) return Number(/listen\s+(\d+);/.exec(read('deploy/nginx/nginx.conf'))?.[1]);
  throw new Error(`no known listen port for ${name}`);
}

function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}

const PINNED_TAG = /^[a-z0-9.\-/]+(:\d+)?\/?[a-z0-9._\-/]*:v?\d+\.\d+\.\d+[a-z0-9.-]*$/;

describe('docker-compose.yml', () => {
  it('runs DragonFly, NATS, two server nodes behind a proxy, Prometheus and Grafana', () => {
    expect(serverNames.sort()).toEqual(['server-1', 'server-2']);
    for (const name of ['dragonfly', 'nats', 'proxy', 'prometheus', 'grafana']) expect(services).toHaveProperty(name);
  });

  it('pins every image to an explicit version, never latest', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.image, name).toBeDefined();
      expect(service.image, name).toMatch(PINNED_TAG);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
    // The nodes' image is tagged with the version it is built from.
    for (const name of serverNames) expect(services[name]?.image).toBe(`waiting-room-server:${rootPackage.version}`);
  });

  it('gives the server nodes only variables the config knows, with values it accepts', () => {
    for (const name of serverNames) {
      const env = serverEnv(name);
      expect(Object.keys(env).filter((k) => !CONFIG_VARIABLES.includes(k)), name).toEqual([]);
      expect(env).not.toHaveProperty('WORKER_ID'); // the supervisor's, not an operator's
      const config = loadConfig(env);
      expect(config.dragonflyUrl, 'several nodes need the shared store').toBeDefined();
      expect(config.natsUrl, 'several nodes need NATS').toBeDefined();
      expect(config.ticketSecret).toBeDefined();
      expect(config.ipSalt).toBeDefined();
      expect(config.jwtPrivateKeyFiles).toHaveLength(1);
    }
    expect(serverEnv('server-1')).toEqual(serverEnv('server-2'));
  });

  it('refuses a bad value the way the server would', () => {
    expect(() => loadConfig({ ...serverEnv('server-1'), TICKET_SECRET: 'short' })).toThrow(/TICKET_SECRET/);
    expect(() => interpolate('${NOT_IN_EXAMPLE:?needed}')).toThrow(/NOT_IN_EXAMPLE/);
  });

  it('points the nodes at DragonFly and NATS by service name and port', () => {
    for (const name of serverNames) {
      const config = loadConfig(serverEnv(name));
      const store = hostPort(config.dragonflyUrl!);
      expect(store.host).toBe('dragonfly');
      expect(store.port || 6379).toBe(listenPort('dragonfly'));
      const nats = hostPort(config.natsUrl!);
      expect(nats.host).toBe('nats');
      expect(nats.port || 4222).toBe(listenPort('nats'));
    }
  });

  it('runs DragonFly with hashtag locking and no undeclared keys', () => {
    const flags = commandOf(services.dragonfly!);
    expect(flags).toContain('--cluster_mode=emulated');
    expect(flags).toContain('--lock_on_hashtags');
    expect(flags.join(' ')).not.toMatch(/allow-undeclared-keys/);
  });

  it('runs NATS with JetStream', () => {
    expect(commandOf(services.nats!).some((f) => f === '--jetstream' || f === '-js')).toBe(true);
  });

  it('mounts the signing key every node reads as a secret', () => {
    for (const name of serverNames) {
      const file = loadConfig(serverEnv(name)).jwtPrivateKeyFiles[0];
      const secret = /^\/run\/secrets\/(.+)$/.exec(file ?? '')?.[1];
      expect(secret, name).toBeDefined();
      expect(services[name]?.secrets).toContain(secret);
      expect(compose.secrets?.[secret!]?.file).toMatch(/^\.\/deploy\/secrets\//);
    }
    // The key itself is never committed.
    expect(read('deploy/secrets/.gitignore')).toMatch(/^\*$/m);
  });

  it('has every dependency, volume source and upstream exist', () => {
    for (const [name, service] of Object.entries(services)) {
      const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dep of deps) expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] ?? '';
        if (source.startsWith('./')) expect(existsSync(join(REPO_ROOT, source)), `${name}: ${source}`).toBe(true);
      }
    }
    const nginx = read('deploy/nginx/nginx.conf');
    const upstreams = [...nginx.matchAll(/^\s*server\s+([\w.-]+:\d+)/gm)].map((m) => hostPort(m[1]!));
    expect(upstreams.map((u) => u.host).sort()).toEqual(serverNames.sort());
    for (const u of upstreams) expect(u.port).toBe(listenPort(u.host));
    expect(nginx).toMatch(/proxy_http_version 1\.1;/); // uWebSockets.js does not answer HTTP/1.0
    expect(services.proxy?.ports).toContain(`${listenPort('proxy')}:${listenPort('proxy')}`);
  });

  it('trusts X-Forwarded-For from the proxy only, on the compose network', () => {
    const subnet = compose.networks?.default?.ipam?.config?.[0]?.subnet;
    const proxyIp = services.proxy?.networks?.default?.ipv4_address;
    expect(subnet).toBeDefined();
    expect(proxyIp).toBeDefined();
    const [network, prefix] = subnet!.split('/');
    const inSubnet = new BlockList();
    inSubnet.addSubnet(network!, Number(prefix));
    expect(inSubnet.check(proxyIp!)).toBe(true);
    for (const name of serverNames) {
      const trusted = loadConfig(serverEnv(name)).trustedProxies;
      expect(trusted.length).toBeGreaterThan(0);
      const list = new BlockList();
      for (const t of trusted) {
        if (t.kind === 'ip') list.addAddress(t.address);
        else list.addSubnet(t.network, t.prefix);
        // Nothing outside the compose network is believed.
        expect(inSubnet.check(t.kind === 'ip' ? t.address : t.network)).toBe(true);
      }
      expect(list.check(proxyIp!)).toBe(true);
    }
  });

  it('has Prometheus scrape services and ports that exist, and load the rules it mounts', () => {
    const prom = parse(read('deploy/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets.map((t) => ({ job: c.job_name, ...hostPort(t) }))));
    for (const t of targets) expect(t.port, `${t.job} → ${t.host}`).toBe(listenPort(t.host));
    // Every node is scraped on its own (the proxy would mix them up, and hides /metrics).
    expect(targets.filter((t) => t.job === 'waiting-room').map((t) => t.host).sort()).toEqual(serverNames.sort());
    expect(services.prometheus?.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    expect(commandOf(services.prometheus!)).toContain('--config.file=/etc/prometheus/prometheus.yml');
    for (const file of prom.rule_files) expect(existsSync(join(REPO_ROOT, 'deploy/prometheus', file))).toBe(true);
  });

  it('gives Grafana its provisioning, the dashboard where the provider looks, and Prometheus by service name', () => {
    const provider = parse(read('deploy/grafana/provisioning/dashboards/waiting-room.yml')) as { providers: { options: { path: string } }[] };
    const datasource = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { url: string }[] };
    const volumes = services.grafana?.volumes ?? [];
    expect(volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(volumes).toContain(`./deploy/grafana/dashboards:${provider.providers[0]?.options.path}:ro`);
    const url = hostPort(datasource.datasources[0]!.url);
    expect(url.port).toBe(listenPort(url.host));
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = instructions.filter((l) => /^FROM\s/i.test(l));

  it('builds on pinned base images in several stages', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names: string[] = [];
    for (const from of stages) {
      const [, image, name] = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(from) ?? [];
      if (!names.includes(image ?? '')) {
        expect(image).toMatch(PINNED_TAG);
        expect(image).not.toMatch(/:latest$/);
      }
      if (name) names.push(name);
    }
  });

  it('installs production dependencies only, from the lockfile', () => {
    const install = instructions.find((l) => /^RUN\s.*npm ci/.test(l));
    expect(install).toMatch(/--omit=dev/);
    // What `npm start` needs at run time is a production dependency.
    const pkg = JSON.parse(read('package.json')) as { dependencies?: Record<string, string> };
    expect(pkg.dependencies).toHaveProperty(rootPackage.scripts.start.split(' ')[0]!);
  });

  it('runs as an unprivileged user', () => {
    const lastStage = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1]!));
    const users = lastStage.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]).not.toMatch(/^(root|0)(:|$)/);
  });

  it('runs what `npm start` runs', () => {
    const cmd = instructions.filter((l) => /^CMD\s/i.test(l)).pop();
    const argv = JSON.parse(cmd!.replace(/^CMD\s+/i, '')) as string[];
    const [bin, ...args] = rootPackage.scripts.start.split(' ');
    expect(argv).toEqual([`node_modules/.bin/${bin}`, ...args]);
  });

  it('copies sources that exist, and keeps secrets and dependencies out of the build context', () => {
    for (const copy of instructions.filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))) {
      const parts = copy.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
    }
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['**/node_modules', '.env', 'deploy/secrets', '.git']) expect(ignored).toContain(entry);
  });
});
