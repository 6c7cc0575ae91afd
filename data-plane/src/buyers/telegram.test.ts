import { randomBytes } from 'node:crypto';
import { sign, signData } from '@telegram-apps/init-data-node';
import { and, eq } from 'drizzle-orm';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { loadDataPlaneConfig } from '../config.ts';
import { outboxEvents } from '../events/schema.ts';
import { checkoutRequest, createVariant } from '../orders/fixtures.ts';
import { tenantTables } from '../provisioning/tenant-tables.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { buyers, telegramInitDataUses } from './schema.ts';
import { BUYER_SESSION_COOKIE } from './session.ts';
import { REPLAY_MEMORY_SECONDS } from './telegram.ts';

const botToken = () =>
  `${100_000 + Math.floor(Math.random() * 900_000)}:${randomBytes(26).toString('base64url')}`;
const BOT_TOKEN = botToken();
const MAX_AGE = 600;
const URL = '/api/storefront/telegram/session';

let dp: TestDataPlane;
let noBot: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane({
    env: { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_INIT_DATA_MAX_AGE_SECONDS: String(MAX_AGE) },
  });
  noBot = await startTestDataPlane();
});
afterAll(async () => {
  await dp?.close();
  await noBot?.close();
});

let nextUserId = 7_000_000_000;
const newUser = (extra: Record<string, unknown> = {}) => ({
  id: ++nextUserId,
  first_name: 'Sara',
  last_name: 'Ahmadi',
  username: `sara${nextUserId}`,
  language_code: 'fa',
  ...extra,
});

/** initData exactly as Telegram builds it for a Mini App launch, signed with `token`. */
function initData(
  user: Record<string, unknown> | undefined,
  options: { token?: string; authDate?: Date } = {},
): string {
  return sign(
    {
      ...(user ? { user: user as { id: number; first_name: string } } : {}),
      query_id: `AAH${randomBytes(8).toString('base64url')}`,
      chat_instance: '-4865137728153112271',
      chat_type: 'private',
    },
    options.token ?? BOT_TOKEN,
    options.authDate ?? new Date(),
  );
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * A payload signed per Telegram's algorithm (HMAC-SHA256 of the sorted `key=value` lines
 * under the WebAppData key), whatever its fields hold: for shapes `sign` cannot produce.
 */
function signedRaw(fields: Record<string, string>): string {
  const params = new URLSearchParams({ auth_date: String(nowSeconds()), signature: 'sig', ...fields });
  const lines = [...params.entries()].map(([name, value]) => `${name}=${value}`).sort();
  params.set('hash', signData(lines.join('\n'), BOT_TOKEN));
  return params.toString();
}

function signIn(init_data: unknown, target: TestDataPlane = dp) {
  return target.app.inject({ method: 'POST', url: URL, payload: { init_data } } as InjectOptions);
}

const sessionOf = (response: { cookies: { name: string; value: string }[] }) =>
  response.cookies.find((cookie) => cookie.name === BUYER_SESSION_COOKIE)?.value;

/** Row counts of every table of the tenant data, to show a refusal wrote nothing. */
async function rowCounts(target: TestDataPlane = dp): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { name } of tenantTables) {
    const { rows } = await target.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${name}"`);
    counts[name] = Number(rows[0]?.n);
  }
  return counts;
}

/** Replaces one parameter of a signed initData, keeping its hash (so the signature no longer matches). */
function tamper(data: string, name: string, value: string): string {
  const params = new URLSearchParams(data);
  params.set(name, value);
  return params.toString();
}

describe('Telegram Mini App sign-in', () => {
  it('signs a new Telegram user in: 201, a session cookie that works, a buyer with no email', async () => {
    const user = newUser();
    const response = await signIn(initData(user));
    expect(response.statusCode, response.body).toBe(201);
    const { buyer } = response.json();
    expect(buyer).toMatchObject({ email: null, display_name: 'Sara Ahmadi', marketing_opt_in: false });

    const raw = [response.headers['set-cookie']].flat().join('\n');
    expect(raw).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43};/);
    expect(raw).toMatch(/; HttpOnly/);
    expect(raw).toMatch(/; Secure/);
    const me = await dp.app.inject({
      url: '/api/storefront/account/me',
      cookies: { [BUYER_SESSION_COOKIE]: sessionOf(response) as string },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json().id).toBe(buyer.id);

    const [row] = await dp.db.select().from(buyers).where(eq(buyers.id, buyer.id));
    expect(row).toMatchObject({ telegramUserId: user.id, email: null, passwordHash: null });
    const audit = await dp.db.select().from(auditLog).where(eq(auditLog.actorId, buyer.id));
    expect(audit.map((entry) => [entry.action, (entry.after as { via?: string }).via])).toEqual([
      ['buyer.registered', 'telegram'],
    ]);
    const [event] = await dp.db.select().from(outboxEvents).where(eq(outboxEvents.aggregateId, buyer.id));
    expect(event?.type).toBe('customer.registered');
    // The Telegram user id and username stay out of the audit log and the event.
    expect(JSON.stringify([audit, event?.payload])).not.toContain(String(user.id));
  });

  it('the same Telegram user signing in again with fresh initData is the same buyer (200)', async () => {
    const user = newUser();
    const first = await signIn(initData(user));
    expect(first.statusCode).toBe(201);
    const again = await signIn(initData({ ...user, first_name: 'Renamed' }));
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().buyer.id).toBe(first.json().buyer.id);
    expect(sessionOf(again)).not.toBe(sessionOf(first));
    expect(await dp.db.select().from(buyers).where(eq(buyers.telegramUserId, user.id))).toHaveLength(1);
    const logins = await dp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.actorId, first.json().buyer.id), eq(auditLog.action, 'buyer.login')));
    expect(logins.map((entry) => entry.after)).toEqual([{ via: 'telegram' }]);
  });

  it('a buyer without an email gives one at checkout, and the order keeps it', async () => {
    const signedIn = await signIn(initData(newUser()));
    const cookie = `${BUYER_SESSION_COOKIE}=${sessionOf(signedIn)}`;
    const lines = [{ variant_id: await createVariant(dp), quantity: 1 }];
    const missing = await checkoutRequest(dp, { lines, cookie });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toEqual([
      { field: 'body.email', message: 'is required: your account has no email' },
    ]);
    const placed = await checkoutRequest(dp, { lines, cookie, extra: { email: 'Sara@Example.com' } });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.json()).toMatchObject({ email: 'sara@example.com' });
  });

  it('concurrent first sign-ins of one user make one buyer', async () => {
    const user = newUser();
    const responses = await Promise.all([signIn(initData(user)), signIn(initData(user))]);
    expect(responses.map((response) => response.statusCode).sort()).toEqual([200, 201]);
    expect(new Set(responses.map((response) => response.json().buyer.id)).size).toBe(1);
  });

  it('refuses forged, foreign, stale and replayed initData with 401 naming why, writing nothing', async () => {
    const replayed = initData(newUser());
    expect((await signIn(replayed)).statusCode).toBe(201);
    const valid = initData(newUser());
    const hash = new URLSearchParams(valid).get('hash') as string;
    const cases: [string, string, string][] = [
      [
        'a changed hash',
        tamper(valid, 'hash', `${hash.slice(0, -1)}${hash.endsWith('0') ? '1' : '0'}`),
        'forged',
      ],
      ['another user id under the original hash', tamper(valid, 'user', JSON.stringify(newUser())), 'forged'],
      [
        'a later auth_date under the original hash',
        tamper(valid, 'auth_date', String(nowSeconds() + 1)),
        'forged',
      ],
      ["another bot's token", initData(newUser(), { token: botToken() }), 'forged'],
      [
        'an auth_date past the maximum age',
        initData(newUser(), { authDate: new Date(Date.now() - (MAX_AGE + 5) * 1000) }),
        'stale',
      ],
      ['initData used before', replayed, 'replayed'],
    ];
    const before = await rowCounts();
    for (const [what, data, kind] of cases) {
      const response = await signIn(data);
      expect(response.statusCode, what).toBe(401);
      expect(response.headers['content-type'], what).toMatch(/^application\/problem\+json/);
      expect(response.json().type, what).toBe(`/problems/telegram-init-data-${kind}`);
      expect(sessionOf(response), what).toBeUndefined();
    }
    expect(await rowCounts()).toEqual(before);
  });

  it('refuses malformed initData and bodies with 400, writing nothing', async () => {
    const valid = initData(newUser());
    const withoutHash = new URLSearchParams(valid);
    withoutHash.delete('hash');
    const cases: [string, unknown][] = [
      ['an empty string', ''],
      ['a number', 42],
      ['text that is no query string', 'hello there'],
      ['no hash', withoutHash.toString()],
      ['a signed payload without a user', initData(undefined)],
      ['a signed payload whose user is not JSON', signedRaw({ user: 'not json' })],
      [
        'a signed payload with a non-numeric user id',
        signedRaw({ user: JSON.stringify(newUser({ id: 'x' })) }),
      ],
      ['more than 4096 characters', `${valid}&pad=${'x'.repeat(4096)}`],
    ];
    const before = await rowCounts();
    for (const [what, data] of cases) {
      const response = await signIn(data);
      expect(response.statusCode, `${what}: ${response.body}`).toBe(400);
      expect(response.headers['content-type'], what).toMatch(/^application\/problem\+json/);
    }
    const extra = await dp.app.inject({
      method: 'POST',
      url: URL,
      payload: { init_data: valid, user_id: 1 },
    });
    expect(extra.statusCode).toBe(400);
    expect(await rowCounts()).toEqual(before);
    // None of those spent the valid initData.
    expect((await signIn(valid)).statusCode).toBe(201);
  });

  it('a disabled buyer is refused (403) and the initData is not spent', async () => {
    const user = newUser();
    const first = await signIn(initData(user));
    const disable = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/customers/${first.json().buyer.id}/disable`,
      headers: await dp.staffHeaders('owner'),
      payload: {},
    });
    expect(disable.statusCode).toBe(200);
    const data = initData(user);
    const before = await rowCounts();
    const refused = await signIn(data);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().type).toBe('/problems/account-disabled');
    expect(await rowCounts()).toEqual(before);
  });

  it('a shop without a bot token answers 404 problem+json, whatever the body', async () => {
    const before = await rowCounts(noBot);
    for (const payload of [{ init_data: initData(newUser()) }, {}, { init_data: 7 }]) {
      const response = await noBot.app.inject({ method: 'POST', url: URL, payload });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json().detail).toBe('This shop has no Telegram bot.');
    }
    expect(await rowCounts(noBot)).toEqual(before);
  });

  it('forgets used initData only once it could no longer pass the largest allowed age', async () => {
    const old = new Date(Date.now() - (REPLAY_MEMORY_SECONDS + 60) * 1000);
    const recent = new Date(Date.now() - (REPLAY_MEMORY_SECONDS - 60) * 1000);
    await dp.db.insert(telegramInitDataUses).values([
      { tenantId: dp.tenantId, hash: 'old', authDate: old },
      { tenantId: dp.tenantId, hash: 'recent', authDate: recent },
    ]);
    expect((await signIn(initData(newUser()))).statusCode).toBe(201);
    const kept = await dp.db
      .select({ hash: telegramInitDataUses.hash })
      .from(telegramInitDataUses)
      .where(eq(telegramInitDataUses.tenantId, dp.tenantId));
    expect(kept.map((row) => row.hash)).toContain('recent');
    expect(kept.map((row) => row.hash)).not.toContain('old');
  });

  it('the maximum age cannot be configured beyond how long used initData is remembered', () => {
    // The test data plane's own environment, as strings, with only the maximum age changed.
    const env = (age: number) => ({
      ...Object.fromEntries(
        Object.entries(dp.config)
          .filter(([name, value]) => /^[A-Z_]+$/.test(name) && typeof value !== 'object')
          .map(([name, value]) => [name, String(value)]),
      ),
      TELEGRAM_INIT_DATA_MAX_AGE_SECONDS: String(age),
    });
    expect(loadDataPlaneConfig(env(REPLAY_MEMORY_SECONDS)).TELEGRAM_INIT_DATA_MAX_AGE_SECONDS).toBe(
      REPLAY_MEMORY_SECONDS,
    );
    expect(() => loadDataPlaneConfig(env(REPLAY_MEMORY_SECONDS + 1))).toThrow(
      /TELEGRAM_INIT_DATA_MAX_AGE_SECONDS is invalid/,
    );
  });
});
