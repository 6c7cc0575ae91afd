import { randomUUID } from 'node:crypto';
import { type Json, REMOVE, withField } from '@amanat/kit/testing/payloads';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { outboxEvents } from '../events/schema.ts';
import { webhookEndpoints } from '../events/webhook-schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { buyerAddresses, buyerLoginFailures, buyerSessions, buyers } from './schema.ts';
import { BUYER_SESSION_COOKIE } from './session.ts';

/**
 * Bad input for the buyer, customer, overview and webhook routes: every case is refused with
 * a 4xx problem+json naming the field, and leaves every table exactly as it was. Each case
 * changes one part of a payload the "valid baselines" test shows is accepted.
 */

let dp: TestDataPlane;
let sid = '';
let buyerId = '';
let addressId = '';
let endpointId = '';
let owner: Record<string, string> = {};

beforeAll(async () => {
  dp = await startTestDataPlane();
  const registered = await dp.app.inject({
    method: 'POST',
    url: '/api/storefront/account/register',
    payload: { email: 'baseline@example.com', password: 'correct horse battery' },
  });
  sid = registered.cookies.find((c) => c.name === BUYER_SESSION_COOKIE)?.value as string;
  buyerId = registered.json().buyer.id;
  const address = await dp.app.inject({
    method: 'POST',
    url: '/api/storefront/account/addresses',
    cookies: { [BUYER_SESSION_COOKIE]: sid },
    payload: validAddress(),
  });
  addressId = address.json().id;
  owner = await dp.staffHeaders('owner');
  const endpoint = await dp.app.inject({
    method: 'POST',
    url: '/api/admin/webhooks',
    headers: owner,
    payload: validWebhook(),
  });
  endpointId = endpoint.json().endpoint.id;
});
afterAll(() => dp?.close());

function validAddress(): Json {
  return {
    label: 'Home',
    recipient_name: 'Ana Buyer',
    line1: '1 Main St',
    line2: null,
    city: 'Tehran',
    region: 'Tehran',
    postal_code: '12345',
    country: 'IR',
    phone: '+98 21 1234 5678',
    is_default: true,
  };
}
function validWebhook(): Json {
  return {
    url: 'https://hooks.example.com/shop',
    event_types: ['order.paid'],
    description: 'ERP',
    enabled: true,
  };
}

interface Target {
  label: string;
  method: 'POST' | 'PATCH';
  url: () => string;
  auth: () => Partial<InjectOptions>;
  valid: () => Json;
}

const buyerAuth = () => ({ cookies: { [BUYER_SESSION_COOKIE]: sid } });
const staffAuth = () => ({ headers: owner });

const targets = {
  register: {
    label: 'POST register',
    method: 'POST',
    url: () => '/api/storefront/account/register',
    auth: () => ({}),
    valid: () => ({
      email: `${randomUUID()}@example.com`,
      password: 'correct horse battery',
      marketing_opt_in: true,
    }),
  },
  login: {
    label: 'POST login',
    method: 'POST',
    url: () => '/api/storefront/account/login',
    auth: () => ({}),
    valid: () => ({ email: 'baseline@example.com', password: 'correct horse battery' }),
  },
  me: {
    label: 'PATCH me',
    method: 'PATCH',
    url: () => '/api/storefront/account/me',
    auth: buyerAuth,
    valid: () => ({ display_name: 'Ana', marketing_opt_in: false }),
  },
  addAddress: {
    label: 'POST addresses',
    method: 'POST',
    url: () => '/api/storefront/account/addresses',
    auth: buyerAuth,
    valid: validAddress,
  },
  patchAddress: {
    label: 'PATCH addresses/:id',
    method: 'PATCH',
    url: () => `/api/storefront/account/addresses/${addressId}`,
    auth: buyerAuth,
    valid: () => ({ city: 'Shiraz', is_default: true }),
  },
  disable: {
    label: 'POST customers/:id/disable',
    method: 'POST',
    url: () => `/api/admin/customers/${randomUUID()}/disable`,
    auth: staffAuth,
    valid: () => ({ reason: 'fraud' }),
  },
  addWebhook: {
    label: 'POST webhooks',
    method: 'POST',
    url: () => '/api/admin/webhooks',
    auth: staffAuth,
    valid: validWebhook,
  },
  patchWebhook: {
    label: 'PATCH webhooks/:id',
    method: 'PATCH',
    url: () => `/api/admin/webhooks/${endpointId}`,
    auth: staffAuth,
    valid: () => ({ event_types: ['order.paid', 'stock.low'], enabled: true }),
  },
} satisfies Record<string, Target>;

interface Case {
  name: string;
  request: () => InjectOptions;
  status: number;
  field?: string | RegExp;
  type?: string;
}

function field(target: Target, name: string, path: string, value: unknown, expected?: string | RegExp): Case {
  return {
    name: `${target.label}: ${name}`,
    request: () => ({
      method: target.method,
      url: target.url(),
      ...target.auth(),
      payload: withField(target.valid(), path, value),
    }),
    status: 400,
    field: expected ?? `body.${path}`,
  };
}

function raw(
  target: Target,
  name: string,
  payload: string | Json,
  status: number,
  expectation: Omit<Case, 'name' | 'request' | 'status'>,
  contentType = 'application/json',
): Case {
  return {
    name: `${target.label}: ${name}`,
    request: () => {
      const auth = target.auth();
      return {
        method: target.method,
        url: target.url(),
        ...auth,
        headers: { ...(auth.headers as Record<string, string> | undefined), 'content-type': contentType },
        payload,
      };
    },
    status,
    ...expectation,
  };
}

function transport(target: Target): Case[] {
  return [
    raw(target, 'malformed JSON', '{"a": ', 400, { type: '/problems/ctp-invalid-json-body' }),
    raw(target, 'a JSON array body', '[]', 400, { field: 'body' }),
    raw(
      target,
      'a form-encoded body',
      'a=b',
      415,
      { type: '/problems/ctp-invalid-media-type' },
      'application/x-www-form-urlencoded',
    ),
    field(target, 'an unknown field', 'unexpected', 'value'),
    field(target, 'a NUL byte in an unknown field', 'unexpected', 'a\u0000b'),
  ];
}

function get(
  name: string,
  url: () => string,
  auth: () => Partial<InjectOptions>,
  status: number,
  expectation: Omit<Case, 'name' | 'request' | 'status'>,
): Case {
  return { name, request: () => ({ method: 'GET', url: url(), ...auth() }), status, ...expectation };
}

const long = (n: number) => 'x'.repeat(n);
const t = targets;

const cases: Case[] = [
  ...transport(t.register),
  field(t.register, 'email missing', 'email', REMOVE),
  field(t.register, 'email not an address', 'email', 'not-an-email'),
  field(t.register, 'email overlong', 'email', `${long(250)}@example.com`),
  field(t.register, 'email as an array', 'email', ['a@example.com']),
  field(t.register, 'password too short', 'password', 'short'),
  field(t.register, 'password overlong', 'password', long(257)),
  field(t.register, 'password as a number', 'password', 1234567890123),
  field(t.register, 'marketing_opt_in as "yes"', 'marketing_opt_in', 'yes'),
  field(t.register, 'display_name empty', 'display_name', ''),
  field(t.register, 'display_name with a lone surrogate', 'display_name', 'Ana \ud800'),
  ...transport(t.login),
  field(t.login, 'password missing', 'password', REMOVE),
  field(t.login, 'password empty', 'password', ''),
  field(t.login, 'email as an object', 'email', { $ne: null }),
  ...transport(t.me),
  raw(t.me, 'an empty object', {}, 400, { field: 'body' }),
  field(t.me, 'marketing_opt_in as 0', 'marketing_opt_in', 0),
  field(t.me, 'display_name overlong', 'display_name', long(121)),
  field(t.me, 'trying to change the email', 'email', 'new@example.com'),
  ...transport(t.addAddress),
  field(t.addAddress, 'recipient_name missing', 'recipient_name', REMOVE),
  field(t.addAddress, 'line1 empty', 'line1', ''),
  field(t.addAddress, 'country as a name', 'country', 'Iran'),
  field(t.addAddress, 'country as digits', 'country', '98'),
  field(t.addAddress, 'postal_code with SQL', 'postal_code', "1'; drop table buyers;--"),
  field(t.addAddress, 'phone with letters', 'phone', 'call me'),
  field(t.addAddress, 'is_default as "true"', 'is_default', 'true'),
  field(t.addAddress, 'city with a NUL byte', 'city', 'Teh\u0000ran'),
  ...transport(t.patchAddress),
  raw(t.patchAddress, 'an empty object', {}, 400, { field: 'body' }),
  field(t.patchAddress, 'recipient_name null', 'recipient_name', null),
  field(t.patchAddress, 'country lower-case 3 letters', 'country', 'irn'),
  {
    name: 'PATCH addresses/:id: id not a uuid',
    request: () => ({
      method: 'PATCH',
      url: '/api/storefront/account/addresses/42',
      ...buyerAuth(),
      payload: { city: 'x' },
    }),
    status: 400,
    field: 'params.id',
  },
  {
    name: 'DELETE addresses/:id: urn:uuid id',
    request: () => ({
      method: 'DELETE',
      url: '/api/storefront/account/addresses/urn:uuid:00000000-0000-4000-8000-000000000000',
      ...buyerAuth(),
    }),
    status: 400,
    field: 'params.id',
  },
  field(t.disable, 'reason empty', 'reason', ''),
  field(t.disable, 'reason overlong', 'reason', long(501)),
  field(t.disable, 'an unknown field', 'disabled', true),
  {
    name: 'POST customers/:id/disable: id not a uuid',
    request: () => ({
      method: 'POST',
      url: '/api/admin/customers/nope/disable',
      ...staffAuth(),
      payload: {},
    }),
    status: 400,
    field: 'params.id',
  },
  get('GET customers: sort unknown', () => '/api/admin/customers?sort=email', staffAuth, 400, {
    field: 'query.sort',
  }),
  get('GET customers: order sideways', () => '/api/admin/customers?order=up', staffAuth, 400, {
    field: 'query.order',
  }),
  get('GET customers: min_orders negative', () => '/api/admin/customers?min_orders=-1', staffAuth, 400, {
    field: 'query.min_orders',
  }),
  get('GET customers: min_spent a word', () => '/api/admin/customers?min_spent=lots', staffAuth, 400, {
    field: 'query.min_spent',
  }),
  get(
    'GET customers: min_spent beyond safe integers',
    () => '/api/admin/customers?min_spent=1e30',
    staffAuth,
    400,
    { field: 'query.min_spent' },
  ),
  get(
    'GET customers: joined_after not a time',
    () => '/api/admin/customers?joined_after=yesterday',
    staffAuth,
    400,
    { field: 'query.joined_after' },
  ),
  get(
    'GET customers: min_orders above max_orders',
    () => '/api/admin/customers?min_orders=5&max_orders=1',
    staffAuth,
    400,
    { field: 'query.min_orders' },
  ),
  get(
    'GET customers: joined_after after joined_before',
    () => '/api/admin/customers?joined_after=2030-01-01T00:00:00Z&joined_before=2020-01-01T00:00:00Z',
    staffAuth,
    400,
    { field: 'query.joined_after' },
  ),
  get('GET customers: limit 0', () => '/api/admin/customers?limit=0', staffAuth, 400, {
    field: 'query.limit',
  }),
  get('GET customers: limit 1000', () => '/api/admin/customers?limit=1000', staffAuth, 400, {
    field: 'query.limit',
  }),
  get('GET customers: page 0', () => '/api/admin/customers?page=0', staffAuth, 400, { field: 'query.page' }),
  get('GET customers: unknown parameter', () => '/api/admin/customers?email=a@b.cc', staffAuth, 400, {
    field: 'query.email',
  }),
  get('GET customers/:id: id not a uuid', () => '/api/admin/customers/123', staffAuth, 400, {
    field: 'params.id',
  }),
  ...transport(t.addWebhook),
  field(t.addWebhook, 'url missing', 'url', REMOVE),
  field(t.addWebhook, 'url http', 'url', 'http://hooks.example.com/x'),
  field(t.addWebhook, 'url to a private address', 'url', 'https://192.168.1.10/x'),
  field(t.addWebhook, 'url to the metadata service', 'url', 'http://169.254.169.254/latest'),
  field(t.addWebhook, 'url to an IPv6 loopback', 'url', 'https://[::1]/x'),
  field(t.addWebhook, 'url to localhost', 'url', 'https://localhost/x'),
  field(t.addWebhook, 'url not a URL', 'url', 'hooks'),
  field(t.addWebhook, 'url with credentials', 'url', 'https://a:b@hooks.example.com/x'),
  field(t.addWebhook, 'url overlong', 'url', `https://hooks.example.com/${long(2100)}`),
  field(t.addWebhook, 'event_types empty', 'event_types', []),
  field(t.addWebhook, 'event_types unknown', 'event_types', ['order.exploded'], /^body\.event_types/),
  field(t.addWebhook, 'event_types repeated', 'event_types', ['order.paid', 'order.paid']),
  field(t.addWebhook, 'a client-chosen secret', 'secret', 'whsec_mine'),
  field(t.addWebhook, 'enabled as "on"', 'enabled', 'on'),
  ...transport(t.patchWebhook),
  raw(t.patchWebhook, 'an empty object', {}, 400, { field: 'body' }),
  field(t.patchWebhook, 'url to a private address', 'url', 'https://10.1.2.3/x'),
  field(t.patchWebhook, 'event_types as a string', 'event_types', 'order.paid'),
  get('GET webhooks/:id: id not a uuid', () => '/api/admin/webhooks/abc', staffAuth, 400, {
    field: 'params.id',
  }),
  get(
    'GET webhooks/:id/deliveries: limit 0',
    () => `/api/admin/webhooks/${endpointId}/deliveries?limit=0`,
    staffAuth,
    400,
    { field: 'query.limit' },
  ),
  get(
    'GET webhooks/:id/deliveries: before a word',
    () => `/api/admin/webhooks/${endpointId}/deliveries?before=last`,
    staffAuth,
    400,
    { field: 'query.before' },
  ),
  get(
    'GET webhooks/:id/deliveries: before beyond bigint',
    () => `/api/admin/webhooks/${endpointId}/deliveries?before=99999999999999999999`,
    staffAuth,
    400,
    { field: 'query.before' },
  ),
];

const tables: PgTable[] = [
  buyers,
  buyerSessions,
  buyerAddresses,
  buyerLoginFailures,
  webhookEndpoints,
  outboxEvents,
  auditLog,
];
const snapshot = () => Promise.all(tables.map((table) => dp.rowCount(table)));

describe('bad input to the buyer, customer and webhook routes', () => {
  it('valid baselines are accepted', async () => {
    for (const target of Object.values(targets)) {
      if (target === targets.disable) continue; // a random id: a 404 after validation passed
      const response = await dp.app.inject({
        method: target.method,
        url: target.url(),
        ...target.auth(),
        payload: target.valid(),
      });
      expect(response.statusCode, `${target.label}: ${response.body}`).toBeLessThan(300);
    }
    const disable = await dp.app.inject({
      method: 'POST',
      url: targets.disable.url(),
      ...staffAuth(),
      payload: targets.disable.valid(),
    });
    expect(disable.statusCode).toBe(404);
    expect(
      (
        await dp.app.inject({
          url: '/api/admin/customers?sort=total_spent&order=asc&min_orders=0&max_orders=5&joined_after=2020-01-01T00:00:00Z',
          ...staffAuth(),
        })
      ).statusCode,
    ).toBe(200);
    expect(buyerId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const before = await snapshot();
    const response = await dp.app.inject(c.request());
    expect(response.statusCode, response.body).toBe(c.status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = response.json();
    expect(body.status).toBe(c.status);
    if (c.type) expect(body.type).toBe(c.type);
    if (c.field) {
      const fields = (body.errors ?? []).map((e: { field: string }) => e.field);
      expect(
        fields.some((f: string) =>
          typeof c.field === 'string' ? f === c.field : (c.field as RegExp).test(f),
        ),
        JSON.stringify(fields),
      ).toBe(true);
    }
    expect(await snapshot()).toEqual(before);
  });
});
