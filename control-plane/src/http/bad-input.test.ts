import { type Json, REMOVE, withField } from '@amanat/kit/testing/payloads';
import { asc, count, eq } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authFailures, sessions, users } from '../accounts/schema.ts';
import { auditLog } from '../audit/schema.ts';
import { tenantMembers } from '../tenant-roles/schema.ts';
import { tenants } from '../tenants/schema.ts';
import {
  PASSWORD,
  type SignedIn,
  startTestControlPlane,
  type TestControlPlane,
  uniqueEmail,
} from '../testing/harness.ts';

/**
 * Bad input, route by route: every case must be refused with the specific 4xx as RFC 9457
 * problem+json naming the offending field, and must leave the database exactly as it was.
 * Each case mutates one part of a payload that the "valid baselines" test shows is accepted,
 * so the mutation is the only thing wrong with it.
 */

let cp: TestControlPlane;
let owner: SignedIn;
let admin: SignedIn;
let other: SignedIn;
let tenantId: string;

beforeAll(async () => {
  cp = await startTestControlPlane();
  [owner, admin, other] = await Promise.all([cp.register('owner'), cp.admin(), cp.register('other')]);
  tenantId = (await cp.activeTenant(owner, admin)).id;
});
afterAll(() => cp?.close());

let slugCounter = 0;
const freshSlug = () => `valid-${process.pid}-${++slugCounter}`;

const brand = () => ({
  logo_url: 'https://cdn.example.com/logo.png',
  favicon_url: 'https://cdn.example.com/favicon.ico',
  primary_color: '#0a7cff',
  accent_color: '#FF7A00',
  display_name: 'Valid shop',
  tagline: 'Everything, held safely',
  font_family: "Inter, 'Helvetica Neue', sans-serif",
});
const features = () => ({ login_methods: ['email_password', 'telegram'], disclose_platform: false });

const validRegister = () => ({ email: uniqueEmail('bad'), password: PASSWORD, display_name: 'Valid name' });
const validLogin = () => ({ email: owner.email, password: PASSWORD });
const validTenant = () => ({
  slug: freshSlug(),
  display_name: 'Valid shop',
  tier: 'white_label',
  isolation_mode: 'schema',
  brand: brand(),
  features: features(),
  locale: 'en-GB',
  timezone: 'Europe/London',
  currency: 'GBP',
});
const validPatch = () => ({
  display_name: 'Patched shop',
  brand: brand(),
  features: features(),
  locale: 'fa-IR',
  timezone: 'Asia/Tehran',
  currency: 'IRR',
});
const validAdminTenant = () => ({ ...validTenant(), owner_email: other.email });
const validSuspend = () => ({ reason: 'Chargebacks above the threshold' });
const validMember = () => ({ email: other.email, role: 'finance' });

interface Case {
  name: string;
  request: () => InjectOptions;
  status: 400 | 413 | 414 | 415;
  /** The problem type, when it is not the validation problem. */
  type?: string;
  /** A field `errors[]` must name (validation problems only). */
  field?: string | RegExp;
}

type Target = {
  label: string;
  method: 'POST' | 'PATCH';
  url: () => string;
  headers: () => Record<string, string>;
  valid: () => Json;
};

const targets = {
  register: {
    label: 'POST /auth/register',
    method: 'POST',
    url: () => '/auth/register',
    headers: () => ({}),
    valid: validRegister,
  },
  login: {
    label: 'POST /auth/login',
    method: 'POST',
    url: () => '/auth/login',
    headers: () => ({}),
    valid: validLogin,
  },
  requestTenant: {
    label: 'POST /tenants',
    method: 'POST',
    url: () => '/tenants',
    headers: () => owner.headers,
    valid: validTenant,
  },
  patchTenant: {
    label: 'PATCH /tenants/:id',
    method: 'PATCH',
    url: () => `/tenants/${tenantId}`,
    headers: () => owner.headers,
    valid: validPatch,
  },
  createTenant: {
    label: 'POST /admin/tenants',
    method: 'POST',
    url: () => '/admin/tenants',
    headers: () => admin.headers,
    valid: validAdminTenant,
  },
  suspend: {
    label: 'POST /admin/tenants/:id/suspend',
    method: 'POST',
    url: () => `/admin/tenants/${tenantId}/suspend`,
    headers: () => admin.headers,
    valid: validSuspend,
  },
  grant: {
    label: 'POST /tenants/:id/members',
    method: 'POST',
    url: () => `/tenants/${tenantId}/members`,
    headers: () => owner.headers,
    valid: validMember,
  },
} satisfies Record<string, Target>;

/** The valid payload with one change at `path`; 400 naming `field` (defaults to body.<path>). */
function field(target: Target, name: string, path: string, value: unknown, expected?: string | RegExp): Case {
  return {
    name: `${target.label}: ${name}`,
    request: () => ({
      method: target.method,
      url: target.url(),
      headers: target.headers(),
      payload: withField(target.valid(), path, value),
    }),
    status: 400,
    field: expected ?? `body.${path}`,
  };
}

/** A whole payload of the caller's making, sent as is. */
function raw(
  target: Target,
  name: string,
  payload: string | Json,
  expectation: Omit<Case, 'name' | 'request'>,
  contentType?: string,
): Case {
  return {
    name: `${target.label}: ${name}`,
    request: () => ({
      method: target.method,
      url: target.url(),
      headers: { ...target.headers(), ...(contentType ? { 'content-type': contentType } : {}) },
      payload,
    }),
    ...expectation,
  };
}

/** Transport-level cases every body-taking route gets. */
function transport(target: Target): Case[] {
  const json = 'application/json';
  return [
    raw(target, 'malformed JSON', '{"a": ', { status: 400, type: '/problems/ctp-invalid-json-body' }, json),
    raw(
      target,
      'a __proto__ key (prototype pollution)',
      '{"__proto__": {"role": "admin"}}',
      { status: 400, type: '/problems/ctp-invalid-json-body' },
      json,
    ),
    raw(target, 'an empty JSON body', '', { status: 400, type: '/problems/ctp-empty-json-body' }, json),
    raw(target, 'a JSON array body', '[]', { status: 400, field: 'body' }, json),
    raw(target, 'a JSON string body', '"hello"', { status: 400, field: 'body' }, json),
    raw(target, 'a JSON null body', 'null', { status: 400, field: 'body' }, json),
    raw(
      target,
      'a form-encoded body',
      'email=a%40b.cc',
      { status: 415, type: '/problems/ctp-invalid-media-type' },
      'application/x-www-form-urlencoded',
    ),
    raw(
      target,
      'an XML body',
      '<tenant/>',
      { status: 415, type: '/problems/ctp-invalid-media-type' },
      'application/xml',
    ),
    raw(
      target,
      'a text/plain body',
      '{"email":"a@example.com"}',
      { status: 415, type: '/problems/ctp-invalid-media-type' },
      'text/plain',
    ),
    {
      name: `${target.label}: a body over BODY_LIMIT_BYTES`,
      request: () => ({
        method: target.method,
        url: target.url(),
        headers: target.headers(),
        payload: { ...target.valid(), padding: 'x'.repeat(cp.config.BODY_LIMIT_BYTES) },
      }),
      status: 413,
      type: '/problems/ctp-body-too-large',
    },
    field(target, 'an unknown field', 'unexpected', 'value'),
    field(target, 'a NUL byte in an unknown field', 'unexpected', 'a\u0000b'),
  ];
}

const long = (n: number) => 'x'.repeat(n);
const deep = (levels: number): unknown => (levels === 0 ? 'leaf' : [deep(levels - 1)]);
const DEEP_FIELD = (prefix: string) => new RegExp(`^${prefix.replaceAll('.', '\\.')}(\\.0)+$`);

function slugCases(target: Target): Case[] {
  const slug = (name: string, value: unknown) => field(target, `slug ${name}`, 'slug', value);
  return [
    slug('with uppercase', 'MyShop'),
    slug('with a leading dash', '-shop'),
    slug('with a trailing dash', 'shop-'),
    slug('too short', 'ab'),
    slug('too long (41)', 'a'.repeat(41)),
    slug('reserved: admin', 'admin'),
    slug('reserved: www', 'www'),
    slug('reserved: api', 'api'),
    slug('IDNA-style ab--cd', 'ab--cd'),
    slug('IDNA-style xn--p1ai', 'xn--p1ai'),
    slug('SQL-looking', "a'; drop table tenants;--"),
    slug('with an emoji', 'shop-😀'),
    slug('in Persian script', 'فروشگاه'),
    slug('with an underscore', 'my_shop'),
    slug('with a dot', 'my.shop'),
    slug('with a space', 'my shop'),
    slug('with a NUL byte', 'shop\u0000x'),
    slug('as an object', { value: 'shop' }),
    // Bodies keep their JSON types: nothing is coerced into a valid-looking string.
    slug('as a number', 12345),
    slug('missing', REMOVE),
  ];
}

function brandCases(target: Target, prefix: string): Case[] {
  const b = (name: string, path: string, value: unknown) =>
    field(target, `brand ${name}`, `${prefix}.${path}`, value);
  return [
    b('colour by name (red)', 'primary_color', 'red'),
    b('short hex colour (#fff)', 'primary_color', '#fff'),
    b('non-hex colour (#GGGGGG)', 'accent_color', '#GGGGGG'),
    b('colour with alpha (#0a7cff80)', 'accent_color', '#0a7cff80'),
    b('colour without # (0a7cff)', 'primary_color', '0a7cff'),
    b('http:// logo', 'logo_url', 'http://cdn.example.com/logo.png'),
    b('javascript: favicon', 'favicon_url', 'javascript:alert(document.cookie)'),
    b('data: logo', 'logo_url', 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4='),
    b('protocol-relative logo', 'logo_url', '//cdn.example.com/logo.png'),
    b('overlong logo URL', 'logo_url', `https://cdn.example.com/${long(2100)}`),
    b('font family escaping its CSS', 'font_family', 'Arial; } body { display: none'),
    b('overlong tagline (161)', 'tagline', long(161)),
    b('empty display name', 'display_name', ''),
    b('NUL byte in tagline (nested)', 'tagline', 'safe\u0000tagline'),
    b('lone surrogate in display name (nested)', 'display_name', 'shop \ud800'),
    b('missing tagline', 'tagline', REMOVE),
    b('unknown field', 'script', '<script>alert(1)</script>'),
  ];
}

function settingsCases(target: Target): Case[] {
  return [
    field(target, 'display_name empty', 'display_name', ''),
    field(target, 'display_name overlong (121)', 'display_name', long(121)),
    field(target, 'display_name as an object', 'display_name', { en: 'Shop' }),
    field(target, 'display_name as a boolean', 'display_name', true),
    field(target, 'display_name as a number', 'display_name', 42),
    field(target, 'features.login_methods as a bare string', 'features.login_methods', 'telegram'),
    field(target, 'display_name with a NUL byte', 'display_name', 'Shop\u0000'),
    field(target, 'display_name with a lone surrogate', 'display_name', 'Shop \udc00'),
    field(
      target,
      'display_name nested 40 arrays deep',
      'display_name',
      deep(40),
      DEEP_FIELD('body.display_name'),
    ),
    field(target, 'currency in lower case (usd)', 'currency', 'usd'),
    field(target, 'currency that does not exist (ZZZ)', 'currency', 'ZZZ'),
    field(target, 'currency too long (EURO)', 'currency', 'EURO'),
    field(target, 'currency as a number', 'currency', 840),
    field(target, 'locale with an underscore (en_US)', 'locale', 'en_US'),
    field(target, 'locale not in canonical case (en-us)', 'locale', 'en-us'),
    field(target, 'locale that is no BCP 47 tag (xx-abcdefgh-zz)', 'locale', 'xx-abcdefgh-zz'),
    field(target, 'locale as a word (english)', 'locale', 'english'),
    field(target, 'timezone that does not exist', 'timezone', 'Mars/Olympus_Mons'),
    field(target, 'timezone as an offset (UTC+3)', 'timezone', 'UTC+3'),
    field(target, 'timezone as a path', 'timezone', '../../etc/passwd'),
    field(target, 'timezone empty', 'timezone', ''),
    field(target, 'features.login_methods empty', 'features.login_methods', []),
    field(
      target,
      'features.login_methods unknown (sms)',
      'features.login_methods',
      ['sms'],
      /^body\.features\.login_methods/,
    ),
    field(target, 'features.login_methods repeated', 'features.login_methods', ['telegram', 'telegram']),
    field(target, 'features.login_methods as an object', 'features.login_methods', { telegram: true }),
    field(target, 'features.disclose_platform as yes', 'features.disclose_platform', 'yes'),
    field(target, 'features.disclose_platform missing', 'features.disclose_platform', REMOVE),
    field(target, 'features with an unknown field', 'features.beta', true),
    ...brandCases(target, 'brand'),
  ];
}

const paramCases = (
  label: string,
  method: 'POST' | 'PATCH',
  url: (id: string) => string,
  headers: () => Record<string, string>,
  payload: () => Json,
): Case[] => {
  const at = (name: string, id: string, expectation: Omit<Case, 'name' | 'request'>): Case => ({
    name: `${label}: ${name}`,
    request: () => ({ method, url: url(id), headers: headers(), payload: payload() }),
    ...expectation,
  });
  const invalid = { status: 400, field: 'params.tenantId' } as const;
  return [
    at('id that is not a uuid', 'not-a-uuid', invalid),
    at('numeric id', '42', invalid),
    at('SQL-looking id', "1'%20OR%20'1'%3D'1", invalid),
    at(
      'urn:uuid: id (format uuid allows it; PostgreSQL does not)',
      'urn:uuid:00000000-0000-4000-8000-000000000000',
      invalid,
    ),
    at('id in braces', '%7B00000000-0000-4000-8000-000000000000%7D', invalid),
    at('id with a NUL byte', '00000000-0000-4000-8000-00000000000%00', invalid),
    at('id with broken percent-encoding', '%E0%A4%A', { status: 400, type: '/problems/bad-url' }),
    at('id longer than any path parameter may be', long(150), {
      status: 414,
      type: '/problems/max-param-length',
    }),
  ];
};

const register = targets.register;
const login = targets.login;
const requestTenant = targets.requestTenant;
const patchTenant = targets.patchTenant;
const createTenant = targets.createTenant;
const suspend = targets.suspend;
const grant = targets.grant;

const cases: Case[] = [
  // POST /auth/register
  ...transport(register),
  field(register, 'email missing', 'email', REMOVE),
  field(register, 'password missing', 'password', REMOVE),
  field(register, 'display_name missing', 'display_name', REMOVE),
  raw(register, 'every field missing', {}, { status: 400, field: 'body.email' }),
  field(register, 'email not an address', 'email', 'not-an-email'),
  field(register, 'email with SQL in it', 'email', "x'; drop table users;--@example.com"),
  field(register, 'email overlong (255)', 'email', `${long(243)}@example.com`),
  field(register, 'email as an array of two', 'email', ['a@example.com', 'b@example.com']),
  field(register, 'email with a NUL byte', 'email', 'a\u0000@example.com'),
  field(register, 'password too short', 'password', 'short'),
  field(register, 'password overlong (257)', 'password', long(257)),
  field(register, 'password as an object', 'password', { value: PASSWORD }),
  field(register, 'password with a NUL byte', 'password', `${PASSWORD}\u0000`),
  field(register, 'display_name empty', 'display_name', ''),
  field(register, 'display_name overlong (121)', 'display_name', long(121)),
  field(register, 'display_name as null', 'display_name', null),
  field(register, 'display_name with a NUL byte', 'display_name', 'Ali\u0000'),
  field(register, 'display_name with a lone surrogate', 'display_name', 'Ali \ud83d'),
  field(
    register,
    'display_name nested 40 arrays deep',
    'display_name',
    deep(40),
    DEEP_FIELD('body.display_name'),
  ),
  field(register, 'role smuggled in (admin)', 'role', 'admin'),

  // POST /auth/login
  ...transport(login),
  field(login, 'password missing', 'password', REMOVE),
  field(login, 'email missing', 'email', REMOVE),
  field(login, 'password empty', 'password', ''),
  field(login, 'password overlong (257)', 'password', long(257)),
  field(login, 'email as a number', 'email', 12345),
  field(login, 'email with a NUL byte', 'email', 'x\u0000@example.com'),
  field(login, 'password with a NUL byte', 'password', '\u0000'),
  field(login, 'remember_me (unknown)', 'remember_me', true),

  // POST /tenants
  ...transport(requestTenant),
  ...slugCases(requestTenant),
  ...settingsCases(requestTenant),
  field(requestTenant, 'tier missing', 'tier', REMOVE),
  field(requestTenant, 'tier unknown (platinum)', 'tier', 'platinum'),
  field(requestTenant, 'tier SQL-looking', 'tier', "white_label' OR '1'='1"),
  field(requestTenant, 'tier as a number', 'tier', 2),
  field(requestTenant, 'isolation_mode unknown (vm)', 'isolation_mode', 'vm'),
  field(requestTenant, 'status smuggled in', 'status', 'active'),
  field(requestTenant, 'owner_id smuggled in', 'owner_id', '00000000-0000-4000-8000-000000000000'),
  field(requestTenant, 'brand as a string', 'brand', 'https://cdn.example.com/logo.png'),
  field(requestTenant, 'features as an array', 'features', ['telegram']),

  // PATCH /tenants/:id
  ...transport(patchTenant),
  ...settingsCases(patchTenant),
  raw(patchTenant, 'an empty patch', {}, { status: 400, field: 'body' }),
  field(patchTenant, 'slug (immutable)', 'slug', 'new-slug'),
  field(patchTenant, 'tier', 'tier', 'enterprise'),
  field(patchTenant, 'status', 'status', 'active'),
  field(patchTenant, 'owner_id', 'owner_id', '00000000-0000-4000-8000-000000000000'),
  ...paramCases(
    'PATCH /tenants/:id',
    'PATCH',
    (id) => `/tenants/${id}`,
    () => owner.headers,
    validPatch,
  ),

  // POST /admin/tenants
  ...transport(createTenant),
  ...slugCases(createTenant),
  ...settingsCases(createTenant),
  field(createTenant, 'owner_email missing', 'owner_email', REMOVE),
  field(createTenant, 'owner_email not an address', 'owner_email', 'owner'),
  field(createTenant, 'owner_email with no account', 'owner_email', 'nobody-at-all@example.com'),
  field(createTenant, 'owner_email with a NUL byte', 'owner_email', 'a\u0000@example.com'),
  field(createTenant, 'owner_email overlong (255)', 'owner_email', `${long(243)}@example.com`),
  field(createTenant, 'tier unknown', 'tier', 'gold'),
  field(createTenant, 'status smuggled in', 'status', 'suspended'),

  // POST /admin/tenants/:id/suspend
  ...transport(suspend),
  raw(suspend, 'an empty object (reason is required)', {}, { status: 400, field: 'body.reason' }),
  {
    name: 'POST /admin/tenants/:id/suspend: no body at all (reason is required)',
    request: () => ({ method: 'POST', url: `/admin/tenants/${tenantId}/suspend`, headers: admin.headers }),
    status: 400,
    field: 'body.reason',
  },
  field(suspend, 'reason too short', 'reason', 'no'),
  field(suspend, 'reason overlong (501)', 'reason', long(501)),
  field(suspend, 'reason as an object', 'reason', { text: 'fraud' }),
  field(suspend, 'reason as an array of two', 'reason', ['fraud', 'abuse']),
  field(suspend, 'reason with a NUL byte', 'reason', 'fraud\u0000 and abuse'),
  field(suspend, 'until (unknown)', 'until', '2030-01-01T00:00:00Z'),
  ...paramCases(
    'POST /admin/tenants/:id/suspend',
    'POST',
    (id) => `/admin/tenants/${id}/suspend`,
    () => admin.headers,
    validSuspend,
  ),
  {
    name: 'POST /admin/tenants/:id/close: reason too short (the tenant must stay open)',
    request: () => ({
      method: 'POST',
      url: `/admin/tenants/${tenantId}/close`,
      headers: admin.headers,
      payload: { reason: 'x' },
    }),
    status: 400,
    field: 'body.reason',
  },
  {
    name: 'POST /admin/tenants/:id/approve: unknown field',
    request: () => ({
      method: 'POST',
      url: `/admin/tenants/${tenantId}/approve`,
      headers: admin.headers,
      payload: { why: 'because' },
    }),
    status: 400,
    field: 'body.why',
  },

  // POST /tenants/:id/members
  ...transport(grant),
  field(grant, 'role owner (only by transfer)', 'role', 'owner'),
  field(grant, 'role admin (a platform role)', 'role', 'admin'),
  field(grant, 'role in upper case', 'role', 'MANAGER'),
  field(grant, 'role missing', 'role', REMOVE),
  field(grant, 'role as an array', 'role', ['finance', 'support']),
  field(grant, 'email missing', 'email', REMOVE),
  field(grant, 'email not an address', 'email', 'finance-team'),
  field(grant, 'email SQL-looking', 'email', "' OR 1=1 --"),
  field(grant, 'email overlong (255)', 'email', `${long(243)}@example.com`),
  field(grant, 'email with a NUL byte', 'email', 'x\u0000@example.com'),
  field(grant, 'user_id smuggled in', 'user_id', '00000000-0000-4000-8000-000000000000'),
  ...paramCases(
    'POST /tenants/:id/members',
    'POST',
    (id) => `/tenants/${id}/members`,
    () => owner.headers,
    validMember,
  ),
];

/** GET /admin/tenants (and the seller's GET /tenants) with a bad query string. */
const queryCases: Case[] = [
  ['limit=0', 'query.limit'],
  ['limit=1000', 'query.limit'],
  ['limit=101', 'query.limit'],
  ['limit=-1', 'query.limit'],
  ['limit=abc', 'query.limit'],
  ['limit=1.5', 'query.limit'],
  ['limit=1&limit=2', 'query.limit'],
  ['offset=-1', 'query.offset'],
  ['offset=100001', 'query.offset'],
  ['offset=ten', 'query.offset'],
  ['sort=unknown', 'query.sort'],
  ['sort=SLUG', 'query.sort'],
  ['sort=slug%3BDROP%20TABLE%20tenants', 'query.sort'],
  ['sort=--slug', 'query.sort'],
  ['status=deleted', 'query.status'],
  ['tier=gold', 'query.tier'],
  ['isolation_mode=vm', 'query.isolation_mode'],
  ['owner_id=not-a-uuid', 'query.owner_id'],
  ['owner_id=urn%3Auuid%3A00000000-0000-4000-8000-000000000000', 'query.owner_id'],
  ["owner_id=1'%20OR%20'1'%3D'1", 'query.owner_id'],
  ['q=', 'query.q'],
  [`q=${long(101)}`, 'query.q'],
  ['q=shop%00', 'query.q'],
  ['include_deleted=true', 'query.include_deleted'],
].map(([query, name]) => ({
  name: `GET /admin/tenants?${(query as string).slice(0, 60)}`,
  request: () => ({ method: 'GET', url: `/admin/tenants?${query}`, headers: admin.headers }),
  status: 400,
  field: name as string,
}));

const sellerQueryCases: Case[] = [
  ['limit=0', 'query.limit'],
  ['sort=unknown', 'query.sort'],
  ['owner_id=00000000-0000-4000-8000-000000000000', 'query.owner_id'],
].map(([query, name]) => ({
  name: `GET /tenants?${query}`,
  request: () => ({ method: 'GET', url: `/tenants?${query}`, headers: owner.headers }),
  status: 400,
  field: name as string,
}));

const counted = {
  users,
  tenants,
  tenant_members: tenantMembers,
  sessions,
  audit_log: auditLog,
  auth_failures: authFailures,
};

/** Everything a request could have written: row counts, and the tenants and roles in full. */
async function databaseState() {
  const counts: Record<string, number> = {};
  for (const [name, table] of Object.entries(counted) as [string, PgTable][]) {
    const [row] = await cp.db.select({ n: count() }).from(table);
    counts[name] = row?.n ?? 0;
  }
  return {
    counts,
    tenants: await cp.db.select().from(tenants).orderBy(asc(tenants.id)),
    members: await cp.db
      .select()
      .from(tenantMembers)
      .orderBy(asc(tenantMembers.tenantId), asc(tenantMembers.userId)),
  };
}

describe('bad input', () => {
  it('the valid baselines the cases mutate are accepted', async () => {
    const accepted = async (target: Target, expected: number) => {
      const response = await cp.app.inject({
        method: target.method,
        url: target.url(),
        headers: target.headers(),
        payload: target.valid(),
      });
      expect(response.statusCode, `${target.label}: ${response.body}`).toBe(expected);
    };
    await accepted(targets.register, 201);
    await accepted(targets.login, 200);
    await accepted(targets.requestTenant, 201);
    await accepted(targets.patchTenant, 200);
    await accepted(targets.createTenant, 201);
    await accepted(targets.grant, 201);
    await accepted(targets.suspend, 200);
    // Back to the state the cases expect: active, and `other` free to be granted again.
    const reactivated = await cp.app.inject({
      method: 'POST',
      url: `/admin/tenants/${tenantId}/reactivate`,
      headers: admin.headers,
    });
    expect(reactivated.statusCode).toBe(200);
    const revoked = await cp.app.inject({
      method: 'DELETE',
      url: `/tenants/${tenantId}/members/${other.id}`,
      headers: owner.headers,
    });
    expect(revoked.statusCode).toBe(204);
    const list = await cp.app.inject({
      method: 'GET',
      url: '/admin/tenants?limit=100&offset=0&sort=-slug&status=active&tier=white_label&isolation_mode=schema&q=valid',
      headers: admin.headers,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().total).toBeGreaterThan(0);
  });

  it('has a case for every kind of bad input the routes must refuse', () => {
    const all = [...cases, ...queryCases, ...sellerQueryCases];
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
    for (const status of [400, 413, 414, 415]) expect(all.some((c) => c.status === status)).toBe(true);
  });

  it.each([...cases, ...queryCases, ...sellerQueryCases])('$name → $status', async (c) => {
    const before = await databaseState();
    const response = await cp.app.inject(c.request());

    expect(response.statusCode, response.body).toBe(c.status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.json();
    expect(body).toMatchObject({ status: c.status, type: expect.stringMatching(/^\/problems\/[a-z-]+$/) });
    expect(typeof body.title).toBe('string');
    expect(body.title.length).toBeGreaterThan(0);
    expect(typeof body.detail).toBe('string');
    expect(body.detail.length).toBeGreaterThan(0);
    if (c.type) expect(body.type).toBe(c.type);
    if (c.field) {
      expect(body.type).toBe('/problems/validation');
      const fields: string[] = body.errors.map((e: { field: string }) => e.field);
      const match = (f: string) => (typeof c.field === 'string' ? f === c.field : c.field?.test(f));
      expect(fields.some(match), `errors[] ${JSON.stringify(fields)} names ${c.field}`).toBe(true);
      for (const error of body.errors) expect(typeof error.message).toBe('string');
    }

    expect(await databaseState()).toEqual(before);
  });
});

describe('unusual but legitimate input is accepted and stored exactly', () => {
  const persian = 'فروشگاه امانت';
  const emoji = '🛍️👨‍👩‍👧✨';
  const sqlish = "Robert'); DROP TABLE tenants;--";

  it('a display name in Persian with emoji, at registration', async () => {
    const email = uniqueEmail('fa');
    const displayName = `${persian} ${emoji}`;
    const created = await cp.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: PASSWORD, display_name: displayName },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().user.display_name).toBe(displayName);
    const [row] = await cp.db.select().from(users).where(eq(users.email, email));
    expect(row?.displayName).toBe(displayName);
    const me = await cp.app.inject({
      method: 'GET',
      url: '/auth/me',
      headers: (await cp.login(email)).headers,
    });
    expect(me.json().user.display_name).toBe(displayName);
  });

  it('an SQL-looking display name is stored literally, and the tables are still there', async () => {
    const usersBefore = await cp.rowCount(users);
    const tenantsBefore = await cp.rowCount(tenants);
    const email = uniqueEmail('sql');
    const created = await cp.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email, password: PASSWORD, display_name: "' OR '1'='1" },
    });
    expect(created.statusCode).toBe(201);
    const [user] = await cp.db.select().from(users).where(eq(users.email, email));
    expect(user?.displayName).toBe("' OR '1'='1");

    const shop = await cp.app.inject({
      method: 'POST',
      url: '/tenants',
      headers: owner.headers,
      payload: { slug: freshSlug(), display_name: sqlish, tier: 'hosted_seller' },
    });
    expect(shop.statusCode).toBe(201);
    const [row] = await cp.db.select().from(tenants).where(eq(tenants.id, shop.json().id));
    expect(row?.displayName).toBe(sqlish);
    expect(await cp.rowCount(users)).toBe(usersBefore + 1);
    expect(await cp.rowCount(tenants)).toBe(tenantsBefore + 1);

    // Searching for it finds it as text, too.
    const found = await cp.app.inject({
      method: 'GET',
      url: `/admin/tenants?q=${encodeURIComponent("'); DROP TABLE")}`,
      headers: admin.headers,
    });
    expect(found.statusCode).toBe(200);
    expect(found.json().items.map((t: { id: string }) => t.id)).toEqual([shop.json().id]);
  });

  it('a tenant in Persian with emoji in its name and brand, and boundary-length values', async () => {
    const shopBrand = {
      ...brand(),
      display_name: `${persian} ${emoji}`,
      tagline: 'امانت‌داری، بی‌دردسر 🤝', // has zero-width non-joiners (U+200C)
    };
    const slug40 = `b${'0'.repeat(38)}z`;
    const displayName = '😀'.repeat(120); // 120 characters, 240 UTF-16 code units
    const created = await cp.app.inject({
      method: 'POST',
      url: '/tenants',
      headers: owner.headers,
      payload: {
        slug: slug40,
        display_name: displayName,
        tier: 'isolated',
        brand: shopBrand,
        locale: 'fa-IR',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const [row] = await cp.db.select().from(tenants).where(eq(tenants.id, created.json().id));
    expect(row?.slug).toBe(slug40);
    expect(row?.displayName).toBe(displayName);
    expect(row?.brand).toEqual(shopBrand);
    expect(row?.locale).toBe('fa-IR');

    const short = await cp.app.inject({
      method: 'POST',
      url: '/tenants',
      headers: owner.headers,
      payload: { slug: 'a1z', display_name: 'x', tier: 'hosted_seller' },
    });
    expect(short.statusCode, short.body).toBe(201);
  });

  it('a settings patch in Persian with emoji is stored exactly', async () => {
    const displayName = `${emoji} ${persian}`;
    const patched = await cp.app.inject({
      method: 'PATCH',
      url: `/tenants/${tenantId}`,
      headers: owner.headers,
      payload: { display_name: displayName, brand: { ...brand(), tagline: `${persian}‌ها` } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const [row] = await cp.db.select().from(tenants).where(eq(tenants.id, tenantId));
    expect(row?.displayName).toBe(displayName);
    expect(row?.brand?.tagline).toBe(`${persian}‌ها`);
  });
});
