/**
 * Priority grants signed with the operator's own key (GRANT_PUBLIC_KEY_FILE), beside the admin
 * API's, on an embedded node: the operator's tooling signs with jose, the waiting room verifies
 * with the configured public key and puts the visitor in the granted lane.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, call, createQueue, enqueue, startTestNode, uniqueQueueId, type TestNode } from '../support/nodes.js';

const operator = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const keyFile = join(mkdtempSync(join(tmpdir(), 'wr-grant-')), 'operator.pub.pem');
writeFileSync(keyFile, operator.publicKey.export({ type: 'spki', format: 'pem' }));

/** What an operator runs: a grant for `lane` in `queueId`, valid for an hour. */
function operatorGrant(queueId: string, lane: number, key = operator.privateKey, claims: Record<string, unknown> = {}) {
  return new SignJWT({ qid: queueId, lane, ...claims })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'wr-grant+jwt' })
    .setIssuer('waiting-room')
    .setAudience('waiting-room:grant')
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

describe('operator-signed priority grants', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ env: { GRANT_PUBLIC_KEY_FILE: keyFile } });
  });
  afterAll(async () => {
    await node.close();
  });

  it('puts the holder of an operator-signed grant in its lane, ahead of lane 0', async () => {
    const q = uniqueQueueId('grant');
    await createQueue(node, { id: q, status: 'paused' });
    for (let i = 0; i < 3; i++) expect((await enqueue(node, q)).body.position).toBe(i + 1);
    const vip = await enqueue(node, q, { priority_grant: await operatorGrant(q, 2) });
    expect(vip.status).toBe(201);
    expect(vip.body.position).toBe(1);
    // The admin API's own grants still work beside them.
    const issued = await call(`${node.url}/api/v1/admin/queues/${q}/grants`, {
      method: 'POST',
      body: { lane: 3 },
      headers: { 'x-admin-key': ADMIN_KEY },
    });
    expect((await enqueue(node, q, { priority_grant: issued.body.priority_grant })).body.position).toBe(1);
  });

  it('refuses grants of another key, another queue, a lane out of range, or alg none', async () => {
    const q = uniqueQueueId('grant');
    await createQueue(node, { id: q, status: 'paused' });
    const refuse = async (grant: string, status: number) => {
      const res = await enqueue(node, q, { priority_grant: grant });
      expect(res.status, grant.slice(0, 40)).toBe(status);
    };
    await refuse(await operatorGrant(q, 2, stranger.privateKey), 401);
    await refuse(await operatorGrant('other-queue', 2), 401);
    await refuse(await operatorGrant(q, 7), 401);
    const [header, payload] = (await operatorGrant(q, 2)).split('.') as [string, string];
    const none = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: 'none' })).toString('base64url');
    await refuse(`${none}.${payload}.`, 401);
    // Without a configured key, even a well-signed operator grant is refused.
    const plain = await startTestNode();
    try {
      await createQueue(plain, { id: q, status: 'paused' });
      expect((await enqueue(plain, q, { priority_grant: await operatorGrant(q, 2) })).status).toBe(401);
    } finally {
      await plain.close();
    }
  });

  it('refuses to start with a key file that is not a usable public key', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'wr-grant-')), 'bad.pem');
    writeFileSync(bad, 'not a key');
    await expect(startTestNode({ env: { GRANT_PUBLIC_KEY_FILE: bad } })).rejects.toThrow(/GRANT_PUBLIC_KEY_FILE/);
  });
});
