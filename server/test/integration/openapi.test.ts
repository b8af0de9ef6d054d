import { readFileSync } from 'node:fs';
import { validate } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { solveChallenge } from '../../../client-sdk/src/challenge.js';
import type { ChallengeData } from '../../../client-sdk/src/protocol.js';
import { ADMIN_KEY, call, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';

/**
 * docs/openapi.yaml against the server: the document is valid OpenAPI 3.1, it lists exactly the
 * routes a node mounts (both ways), and live responses match the schemas it gives for them.
 */

const DOC_URL = new URL('../../../docs/openapi.yaml', import.meta.url);
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
/** Answers any route may give that the document states once, in info.description, not per operation. */
const ANY_ROUTE_ERRORS = new Set([405, 413, 500]);

type Json = Record<string, unknown>;
interface Operation {
  responses: Record<string, Json>;
}

const doc = parse(readFileSync(DOC_URL, 'utf8')) as {
  openapi: string;
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components: { responses: Record<string, Json> };
};

/** `/api/v1/queues/:queue_id/status` → `/api/v1/queues/{queue_id}/status` */
const toOpenApiPath = (pattern: string) => pattern.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const documentedOperations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`),
  );

// ajv-formats is CommonJS: under NodeNext the default import is its module object, whose own
// `default` is the plugin.
const addFormats = formatsPlugin.default;
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
// The document's top-level members are not schema keywords; declaring them lets the whole document
// be one schema, so `#/components/schemas/...` references resolve as they are written.
const DOC_ID = 'https://waiting-room.invalid/openapi.json';
ajv.addVocabulary(['openapi', 'jsonSchemaDialect', 'info', 'servers', 'tags', 'paths', 'components']);
ajv.addSchema({ ...(doc as object), $id: DOC_ID });

const pointer = (...segments: string[]) =>
  segments.map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/');

/** The documented response of an operation for a status (a `$ref` to components.responses followed). */
function documentedResponse(method: string, path: string, status: number): { json: Json; location: string[] } | undefined {
  const op = doc.paths[path]?.[method.toLowerCase() as (typeof METHODS)[number]];
  if (!op) throw new Error(`${method} ${path} is not in docs/openapi.yaml`);
  const response = op.responses[String(status)];
  if (!response) return undefined;
  const ref = response.$ref;
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/responses/', '');
    const target = doc.components.responses[name];
    if (!target) throw new Error(`dangling ${ref}`);
    return { json: target, location: ['components', 'responses', name] };
  }
  return { json: response, location: ['paths', path, method.toLowerCase(), 'responses', String(status)] };
}

const validators = new Map<string, ValidateFunction>();
function validatorAt(location: string[]): ValidateFunction {
  const key = `${DOC_ID}#/${pointer(...location)}`;
  let fn = validators.get(key);
  if (!fn) {
    const found = ajv.getSchema(key);
    if (!found) throw new Error(`no schema at ${key}`);
    fn = found;
    validators.set(key, fn);
  }
  return fn;
}

const exercised = new Set<string>();

interface Live {
  status: number;
  headers: Headers;
  body: Json;
}

/**
 * Checks one live response against the document: the status is documented for that operation,
 * the body matches the media type's schema, and every header the document names is present.
 * Returns the body for the test to go on with.
 */
function expectDocumented(method: string, path: string, res: Live): Json {
  exercised.add(`${method} ${path}`);
  const documented = documentedResponse(method, path, res.status);
  const contentType = res.headers.get('content-type') ?? '';
  if (!documented) {
    expect(ANY_ROUTE_ERRORS.has(res.status), `${method} ${path} answered undocumented ${res.status}: ${JSON.stringify(res.body)}`).toBe(true);
    expect(contentType).toMatch(/^application\/json/);
    const check = validatorAt(['components', 'schemas', 'Error']);
    expect(check(res.body), JSON.stringify(check.errors)).toBe(true);
    return res.body;
  }
  const content = documented.json.content as Record<string, unknown> | undefined;
  if (!content) {
    expect(res.body, `${method} ${path} ${res.status} should have no body`).toEqual({});
  } else {
    const mediaType = Object.keys(content).find((t) => contentType.startsWith(t));
    expect(mediaType, `${method} ${path} ${res.status}: content-type ${contentType} is not documented`).toBeDefined();
    if (mediaType === 'application/json') {
      const check = validatorAt([...documented.location, 'content', mediaType, 'schema']);
      const ok = check(res.body);
      expect(ok, `${method} ${path} ${res.status}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(res.body, null, 1)}`).toBe(true);
    }
  }
  // A header the document marks `required: false` is sent only sometimes (the description says
  // when); the tests check those where they apply. Every other documented header must be there.
  for (const [header, spec] of Object.entries((documented.json.headers as Record<string, Json> | undefined) ?? {})) {
    if (spec.required === false) continue;
    expect(res.headers.get(header), `${method} ${path} ${res.status}: header ${header} is documented but missing`).not.toBeNull();
  }
  return res.body;
}

describe('docs/openapi.yaml', () => {
  let node: TestNode;
  const admin = { 'x-admin-key': ADMIN_KEY };

  beforeAll(async () => {
    // Limits on (but far from reached until the last test) so X-RateLimit-* headers are sent.
    node = await startTestNode({ env: { ENQUEUE_RATE_LIMIT_PER_MINUTE: '40', STATUS_RATE_LIMIT_PER_MINUTE: '1000' } });
  });
  afterAll(async () => {
    await node.close();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors.map((e) => e.message)).toEqual([]);
    expect(result.warnings.map((w) => w.message)).toEqual([]);
  });

  it('rejects a broken document (the validator is not a no-op)', async () => {
    const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, unknown>> };
    // A response without its required description.
    ((broken.paths['/metrics']?.get as Json).responses as Json)['200'] = { content: { 'text/plain': { schema: { type: 'string' } } } };
    const result = await validate(broken as unknown as Parameters<typeof validate>[0]);
    expect(result.valid).toBe(false);
  });

  it('documents exactly the routes the server mounts', () => {
    const mounted = node.routes.map((r) => `${r.method} ${toOpenApiPath(r.pattern)}`).sort();
    const documented = documentedOperations().sort();
    expect(mounted.length).toBeGreaterThan(15);
    expect(mounted.filter((r) => !documented.includes(r)), 'mounted but not documented').toEqual([]);
    expect(documented.filter((r) => !mounted.includes(r)), 'documented but not mounted').toEqual([]);
  });

  it('system routes answer as documented', async () => {
    for (const path of ['/health', '/api/v1/health']) {
      const body = expectDocumented('GET', path, await call(`${node.url}${path}`));
      expect(body.status).toBe('healthy');
    }
    const jwks = expectDocumented('GET', '/.well-known/jwks.json', await call(`${node.url}/.well-known/jwks.json`));
    expect((jwks.keys as unknown[]).length).toBe(1);
    const metrics = await fetch(`${node.url}/metrics`);
    const text = await metrics.text();
    expectDocumented('GET', '/metrics', { status: metrics.status, headers: metrics.headers, body: {} });
    expect(text).toContain('waiting_room_queue_length');
  });

  it('the visitor and admin routes answer as documented', async () => {
    const q = uniqueQueueId('oa');
    const base = `${node.url}/api/v1`;
    const created = expectDocumented(
      'POST',
      '/api/v1/admin/queues',
      await call(`${base}/admin/queues`, { method: 'POST', headers: admin, body: { id: q, status: 'paused', name: 'OpenAPI' } }),
    );
    expect(created.id).toBe(q);
    expectDocumented('POST', '/api/v1/admin/queues', await call(`${base}/admin/queues`, { method: 'POST', headers: admin, body: { id: q } }));
    expectDocumented('GET', '/api/v1/admin/queues', await call(`${base}/admin/queues`, { headers: admin }));
    expectDocumented('GET', '/api/v1/admin/queues/{queue_id}', await call(`${base}/admin/queues/${q}`, { headers: admin }));
    expectDocumented('GET', '/api/v1/admin/queues/{queue_id}', await call(`${base}/admin/queues/${q}`));
    expectDocumented('GET', '/api/v1/admin/queues/{queue_id}', await call(`${base}/admin/queues/${uniqueQueueId('missing')}`, { headers: admin }));
    const patched = expectDocumented(
      'PATCH',
      '/api/v1/admin/queues/{queue_id}',
      await call(`${base}/admin/queues/${q}`, { method: 'PATCH', headers: admin, body: { admission_rate_per_minute: 120 } }),
    );
    expect(patched.admission_rate_per_minute).toBe(120);
    // A scheduled event's audit (docs/QUEUE_MANAGEMENT.md): 404 without one, then the draw.
    const drawPath = '/api/v1/admin/queues/{queue_id}/draw';
    expectDocumented('GET', drawPath, await call(`${base}/admin/queues/${q}/draw`, { headers: admin }));
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const withEvent = expectDocumented(
      'PATCH',
      '/api/v1/admin/queues/{queue_id}',
      await call(`${base}/admin/queues/${q}`, {
        method: 'PATCH',
        headers: admin,
        body: { event: { prequeue_starts_at: at(3_000_000), starts_at: at(3_600_000), ends_at: at(7_200_000) }, lane_weights: [1, 1, 2, 4] },
      }),
    );
    expect(withEvent.event).toMatchObject({ shuffle_prequeue: true, seed: '' });
    expect(expectDocumented('GET', drawPath, await call(`${base}/admin/queues/${q}/draw`, { headers: admin })).seed).toBeNull();
    expectDocumented(
      'PATCH',
      '/api/v1/admin/queues/{queue_id}',
      await call(`${base}/admin/queues/${q}`, { method: 'PATCH', headers: admin, body: { nonsense: 1 } }),
    );

    const enqueuePath = '/api/v1/queues/{queue_id}/enqueue';
    const joined = expectDocumented('POST', enqueuePath, await call(`${base}/queues/${q}/enqueue`, { method: 'POST', body: {} }));
    const ticket = String(joined.token);
    const again = await call(`${base}/queues/${q}/enqueue`, { method: 'POST', token: ticket });
    expect(again.status).toBe(200);
    expectDocumented('POST', enqueuePath, again);
    expectDocumented('POST', enqueuePath, await call(`${base}/queues/${q}/enqueue`, { method: 'POST', body: { priority: 9 } }));
    expectDocumented('POST', enqueuePath, await call(`${base}/queues/${q}/enqueue`, { method: 'POST', body: { priority: 2 } }));
    expectDocumented('POST', enqueuePath, await call(`${base}/queues/${q}/enqueue`, { method: 'POST', rawBody: 'x=1', headers: { 'content-type': 'text/plain' } }));
    expectDocumented('POST', enqueuePath, await call(`${base}/queues/${q}/enqueue`, { method: 'POST', token: 'not.a.ticket' }));

    const grant = expectDocumented(
      'POST',
      '/api/v1/admin/queues/{queue_id}/grants',
      await call(`${base}/admin/queues/${q}/grants`, { method: 'POST', headers: admin, body: { lane: 2 } }),
    );
    const vip = expectDocumented(
      'POST',
      enqueuePath,
      await call(`${base}/queues/${q}/enqueue`, { method: 'POST', body: { priority_grant: grant.priority_grant } }),
    );
    expect(vip.position).toBe(1);

    const status = expectDocumented('GET', '/api/v1/queues/{queue_id}/status', await call(`${base}/queues/${q}/status`, { token: ticket }));
    expect(status).toMatchObject({ status: 'waiting', position: 2 });
    expectDocumented('GET', '/api/v1/queues/{queue_id}/status', await call(`${base}/queues/${q}/status`));
    expectDocumented('GET', '/api/v1/queues/{queue_id}/status', await call(`${base}/queues/Bad%20Id/status`, { token: ticket }));
    const hb = expectDocumented(
      'POST',
      '/api/v1/queues/{queue_id}/heartbeat',
      await call(`${base}/queues/${q}/heartbeat`, { method: 'POST', token: ticket, body: { timestamp: Date.now() } }),
    );
    expect(hb.next_heartbeat_seconds).toBe(30);
    expectDocumented(
      'POST',
      '/api/v1/queues/{queue_id}/heartbeat',
      await call(`${base}/queues/${q}/heartbeat`, { method: 'POST', token: ticket, body: { timestamp: 'soon' } }),
    );

    const stats = expectDocumented('GET', '/api/v1/admin/queues/{queue_id}/stats', await call(`${base}/admin/queues/${q}/stats`, { headers: admin }));
    expect(stats).toMatchObject({ queue_length: 2, status: 'paused' });

    const left = expectDocumented('DELETE', '/api/v1/queues/{queue_id}/position', await call(`${base}/queues/${q}/position`, { method: 'DELETE', token: ticket }));
    expect(left.status).toBe('cancelled');
    expectDocumented('DELETE', '/api/v1/queues/{queue_id}/position', await call(`${base}/queues/${q}/position`, { method: 'DELETE', token: ticket }));
    const gone = expectDocumented('GET', '/api/v1/queues/{queue_id}/status', await call(`${base}/queues/${q}/status`, { token: ticket }));
    expect((gone.error as Json).code).toBe('POSITION_EXPIRED');

    // Wrong method on a known route: the any-route 405, in the error shape.
    const wrong = await call(`${base}/queues/${q}/status`, { method: 'PATCH' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    expectDocumented('GET', '/api/v1/queues/{queue_id}/status', wrong);

    await call(`${base}/admin/queues/${q}`, { method: 'PATCH', headers: admin, body: { status: 'maintenance' } });
    await waitFor(async () => {
      const res = await call(`${base}/queues/${q}/enqueue`, { method: 'POST' });
      return res.status === 503 ? res : undefined;
    }).then((res) => expectDocumented('POST', enqueuePath, res));
  });

  it('admission, sessions and the origin check answer as documented', async () => {
    const q = uniqueQueueId('oa');
    const base = `${node.url}/api/v1`;
    const created = expectDocumented(
      'POST',
      '/api/v1/admin/queues',
      await call(`${base}/admin/queues`, {
        method: 'POST',
        headers: admin,
        body: { id: q, admission_rate_per_minute: 600, target_url: 'https://shop.example/checkout', session_renewal: true },
      }),
    );
    expect(created.session_renewal).toBe(true);
    // Two visitors: one releases its own session, the other is revoked by the operator.
    const tickets: string[] = [];
    for (let i = 0; i < 2; i++) tickets.push(String((await call(`${base}/queues/${q}/enqueue`, { method: 'POST' })).body.token));
    const [ticket, otherTicket] = tickets as [string, string];
    const admittedView = (t: string) =>
      waitFor(async () => {
        const res = await call(`${base}/queues/${q}/status`, { token: t });
        return res.body.status === 'admitted' ? res : undefined;
      });
    const view = expectDocumented('GET', '/api/v1/queues/{queue_id}/status', await admittedView(ticket));
    expectDocumented(
      'POST',
      '/api/v1/queues/{queue_id}/heartbeat',
      await call(`${base}/queues/${q}/heartbeat`, { method: 'POST', token: ticket }),
    );
    const sessionId = String(view.session_id);
    const sessionToken = String(view.session_token);
    const sessionPath = `${base}/sessions/${sessionId}`;

    const session = expectDocumented('GET', '/api/v1/sessions/{session_id}', await call(sessionPath, { token: sessionToken }));
    expect(session.redirect_url).toBe('https://shop.example/checkout');
    expectDocumented('GET', '/api/v1/sessions/{session_id}', await call(sessionPath, { token: ticket }));
    const activityPath = '/api/v1/sessions/{session_id}/activity';
    const renewed = expectDocumented('POST', activityPath, await call(`${sessionPath}/activity`, { method: 'POST', token: sessionToken }));
    expect(renewed.renewed).toBe(true);
    expect(typeof renewed.session_token).toBe('string');

    // session_renewal off: activity answers without renewing (configs are cached for a second).
    const patched = expectDocumented(
      'PATCH',
      '/api/v1/admin/queues/{queue_id}',
      await call(`${base}/admin/queues/${q}`, { method: 'PATCH', headers: admin, body: { session_renewal: false } }),
    );
    expect(patched.session_renewal).toBe(false);
    const unrenewed = await waitFor(async () => {
      const res = await call(`${sessionPath}/activity`, { method: 'POST', token: sessionToken });
      return res.body.renewed === false ? res : undefined;
    });
    expectDocumented('POST', activityPath, unrenewed);
    expect(unrenewed.body.session_token).toBeUndefined();

    await verifyAnswersAsDocumented(q, sessionId, sessionToken, ticket);

    const releasePath = '/api/v1/sessions/{session_id}';
    const released = expectDocumented('DELETE', releasePath, await call(sessionPath, { method: 'DELETE', token: sessionToken }));
    expect(released).toEqual({ session_id: sessionId, status: 'released' });
    const twice = expectDocumented('DELETE', releasePath, await call(sessionPath, { method: 'DELETE', token: sessionToken }));
    expect((twice.error as Json).code).toBe('SESSION_EXPIRED');
    expectDocumented('DELETE', releasePath, await call(sessionPath, { method: 'DELETE', token: ticket }));
    // A released session is refused by the origin check at once.
    const afterRelease = await call(`${base}/queues/${q}/verify`, { token: sessionToken });
    expect(afterRelease.status).toBe(401);
    expectDocumented('GET', '/api/v1/queues/{queue_id}/verify', afterRelease);
    const over = expectDocumented('GET', '/api/v1/sessions/{session_id}', await call(sessionPath, { token: sessionToken }));
    expect((over.error as Json).code).toBe('SESSION_EXPIRED');
    expectDocumented('POST', activityPath, await call(`${sessionPath}/activity`, { method: 'POST', token: sessionToken }));

    const otherId = String((await admittedView(otherTicket)).body.session_id);
    const ended = expectDocumented(
      'DELETE',
      '/api/v1/admin/sessions/{session_id}',
      await call(`${base}/admin/sessions/${otherId}`, { method: 'DELETE', headers: admin }),
    );
    expect(ended.status).toBe('terminated');
    expectDocumented('DELETE', '/api/v1/admin/sessions/{session_id}', await call(`${base}/admin/sessions/${otherId}`, { method: 'DELETE', headers: admin }));
    expectDocumented('DELETE', '/api/v1/admin/sessions/{session_id}', await call(`${base}/admin/sessions/no-dot`, { method: 'DELETE', headers: admin }));
  });

  /** The origin's gate with a live session: each way of presenting the token, and each refusal. */
  async function verifyAnswersAsDocumented(q: string, sessionId: string, sessionToken: string, ticket: string) {
    const path = '/api/v1/queues/{queue_id}/verify';
    const url = `${node.url}/api/v1/queues/${q}/verify`;
    const waitingUrl = `/queues/${q}`;

    const bearer = await call(url, { token: sessionToken });
    expect(expectDocumented('GET', path, bearer)).toMatchObject({ session_id: sessionId, queue_id: q });
    expect(bearer.headers.get('x-waiting-room-session')).toBe(sessionId);
    expect(bearer.headers.get('x-waiting-room-cookie')).toBeNull();
    const cookie = await call(url, { headers: { cookie: `other=1; wr_session=${sessionToken}` } });
    expect(expectDocumented('GET', path, cookie).session_id).toBe(sessionId);
    const query = await call(url, { headers: { 'x-original-uri': `/checkout?step=2&wr_token=${sessionToken}` } });
    expect(expectDocumented('GET', path, query).session_id).toBe(sessionId);
    expect(query.headers.get('x-waiting-room-cookie')).toMatch(new RegExp(`^wr_session=${sessionToken.replaceAll('.', '\\.')}; Path=/; Max-Age=\\d+; HttpOnly; SameSite=Lax$`));

    for (const refused of [await call(url), await call(url, { token: ticket }), await call(url, { token: sessionToken.slice(0, -2) })]) {
      expect(refused.status).toBe(401);
      const body = expectDocumented('GET', path, refused);
      expect((body.error as Json).details).toEqual({ waiting_room_url: waitingUrl });
      expect(refused.headers.get('x-waiting-room-url')).toBe(waitingUrl);
    }
    // fetch must not follow the 302: the test reads the redirect itself.
    const redirected = await fetch(`${url}?redirect=true`, { redirect: 'manual' });
    const live = { status: redirected.status, headers: redirected.headers, body: (await redirected.json()) as Json };
    expect(live.status).toBe(302);
    expectDocumented('GET', path, live);
    expect(redirected.headers.get('location')).toBe(waitingUrl);
    expectDocumented('GET', path, await call(`${node.url}/api/v1/queues/Bad%20Id/verify`, { token: sessionToken }));
  }

  it('the waiting page, the SDK and the favicon answer as documented', async () => {
    const q = uniqueQueueId('oa');
    const page = await call(`${node.url}/queues/${q}?lang=de`);
    expectDocumented('GET', '/queues/{queue_id}', page);
    expect(page.headers.get('content-language')).toBe('de');
    expectDocumented('GET', '/queues/{queue_id}', await call(`${node.url}/queues/NOT_VALID`));

    const sdk = await fetch(`${node.url}/sdk/waiting-room.js`);
    expect((await sdk.text()).length).toBeGreaterThan(1000);
    expectDocumented('GET', '/sdk/waiting-room.js', { status: sdk.status, headers: sdk.headers, body: {} });
    const cached = await call(`${node.url}/sdk/waiting-room.js`, { headers: { 'if-none-match': sdk.headers.get('etag') ?? '' } });
    expect(cached.status).toBe(304);
    expectDocumented('GET', '/sdk/waiting-room.js', cached);

    expectDocumented('GET', '/favicon.ico', await call(`${node.url}/favicon.ico`));
  });

  it('the operator dashboard’s page and files answer as documented', async () => {
    for (const path of ['/admin', '/admin/dashboard.js', '/admin/dashboard.css']) {
      const file = await fetch(`${node.url}${path}`);
      expect((await file.text()).length).toBeGreaterThan(1000);
      expectDocumented('GET', path, { status: file.status, headers: file.headers, body: {} });
      const cached = await call(`${node.url}${path}`, { headers: { 'if-none-match': file.headers.get('etag') ?? '' } });
      expect(cached.status).toBe(304);
      expectDocumented('GET', path, cached);
    }
  });

  it('the join challenge, the per-address limit and the tarpit answer as documented', async () => {
    // A node of its own with every abuse check on; difficulty 4 (16 hashes on average) keeps it fast.
    const guarded = await startTestNode({
      env: {
        JOIN_CHALLENGE: 'pow',
        JOIN_CHALLENGE_DIFFICULTY: '4',
        MAX_POSITIONS_PER_IP: '1',
        BOT_TARPIT: 'true',
        // On, so enqueue answers carry the X-RateLimit-* headers the document lists for them.
        ENQUEUE_RATE_LIMIT_PER_MINUTE: '40',
      },
    });
    try {
      const q = uniqueQueueId('oa');
      const base = `${guarded.url}/api/v1`;
      // Paused: the first place stays waiting, so it counts against MAX_POSITIONS_PER_IP.
      await call(`${base}/admin/queues`, { method: 'POST', headers: admin, body: { id: q, status: 'paused' } });
      const path = '/api/v1/queues/{queue_id}/enqueue';
      // Node's fetch says `node` in User-Agent, which the bot classifier suspects; a browser does not.
      const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0' };
      const join = (body: Json = {}, headers: Record<string, string> = browser) =>
        call(`${base}/queues/${q}/enqueue`, { method: 'POST', headers, body });
      const challengeOf = (res: Live, reason: string): ChallengeData => {
        expect(res.status, JSON.stringify(res.body)).toBe(428);
        const details = (expectDocumented('POST', path, res).error as Json).details as Json;
        expect(details.reason).toBe(reason);
        return details.challenge as ChallengeData;
      };
      const solve = async (c: ChallengeData) => {
        const solution = await solveChallenge(c);
        if (!solution) throw new Error('no solution');
        return solution;
      };

      const first = await join();
      expect(first.headers.get('content-type')).toMatch(/^application\/json/);
      const challenge = challengeOf(first, 'required');
      expect(challenge.difficulty).toBe(4);
      const solution = await solve(challenge);
      challengeOf(await join({ challenge_solution: { ...solution, token: `${solution.token}x` } }), 'invalid');
      const placed = await join({ challenge_solution: solution });
      expect(placed.status).toBe(201);
      expect(String(expectDocumented('POST', path, placed).position_id)).toMatch(/^[0-9a-z]+$/);
      const again = await solve(challengeOf(await join({ challenge_solution: solution }), 'replayed'));

      const limited = await join({ challenge_solution: again });
      const error = expectDocumented('POST', path, limited).error as Json;
      expect(limited.status).toBe(429);
      expect(error.details).toEqual({ limit: 'positions_per_ip', max: 1 });
      expect(limited.headers.get('retry-after')).toBeNull();

      const bot = await join({}, { 'user-agent': 'curl/8.5.0' });
      expect(bot.status).toBe(201);
      expect(String(expectDocumented('POST', path, bot).position_id)).toMatch(/^_/);
    } finally {
      await guarded.close();
    }
  });

  it('a rate-limited enqueue answers as documented, and every operation was exercised', async () => {
    const q = uniqueQueueId('oa');
    const limited = await waitFor(async () => {
      const res = await call(`${node.url}/api/v1/queues/${q}/enqueue`, { method: 'POST' });
      return res.status === 429 ? res : undefined;
    }, 10_000, 0);
    expect((expectDocumented('POST', '/api/v1/queues/{queue_id}/enqueue', limited).error as Json).details).toMatchObject({ limit: 'enqueue' });
    // Documented as sent only for this limit (required: false), so checked here.
    for (const header of ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
      expect(limited.headers.get(header), header).not.toBeNull();
    }

    expect(documentedOperations().filter((op) => !exercised.has(op)), 'operations no test called').toEqual([]);
  });
});
