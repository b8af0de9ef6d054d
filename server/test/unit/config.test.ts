import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('loadConfig', () => {
  it('has the documented defaults with nothing set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, dragonflyUrl: undefined, natsUrl: undefined, jwtAlg: 'RS256', logLevel: 'info' });
    expect(c.adminApiKey).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('has abuse protection off by default except the per-IP position limit', () => {
    expect(loadConfig({})).toMatchObject({ maxPositionsPerIp: 0, joinChallenge: 'off', botTarpit: false, botMaxStrikes: 10 });
    expect(loadConfig({ BOT_USER_AGENT_PATTERN: '^zap' }).botUserAgentPattern.test('ZAP/2.14')).toBe(true);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DRAGONFLYDB_URL: '', PORT: '' }).dragonflyUrl).toBeUndefined();
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', 'x'],
    ['LOG_LEVEL', 'loud'],
    ['ADMIN_API_KEY', 'short'],
    ['TICKET_SECRET', 'too-short'],
    ['JWT_ALG', 'none'],
    ['NATS_URL', 'redis://x'],
    ['TRUSTED_PROXIES', 'not-an-ip'],
    ['TRUSTED_PROXIES', '10.0.0.0/33'],
    ['QUEUE_AUTO_CREATE', 'maybe'],
    ['PUBLIC_URL', 'queue.example.com'],
    ['SESSION_COOKIE_NAME', 'wr session;'],
    ['MAX_POSITIONS_PER_IP', '-1'],
    ['JOIN_CHALLENGE', 'captcha'],
    ['JOIN_CHALLENGE_DIFFICULTY', '33'],
    ['BOT_TARPIT', 'sometimes'],
    ['BOT_USER_AGENT_PATTERN', '(unclosed'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    try {
      loadConfig({ [name]: value });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(name);
      expect((err as Error).message).toContain(name);
    }
  });

  it('parses trusted proxies and key file lists', () => {
    const c = loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,::1', JWT_PRIVATE_KEY_FILE: 'a.pem, b.pem' });
    expect(c.trustedProxies).toEqual([
      { kind: 'cidr', network: '10.0.0.0', prefix: 8 },
      { kind: 'ip', address: '127.0.0.1' },
      { kind: 'ip', address: '::1' },
    ]);
    expect(c.jwtPrivateKeyFiles).toEqual(['a.pem', 'b.pem']);
  });
});
