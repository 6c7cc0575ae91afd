import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { stockLevels, stockMovements } from '../catalog/schema.ts';
import { idempotencyKeys } from '../checkout/schema.ts';
import { orderTrackingEvents } from '../delivery/schema.ts';
import { outboxEvents } from '../events/schema.ts';
import { ledgerEntries, ledgerTransactions } from '../ledger/schema.ts';
import { signEvidence } from '../payments/adapters.ts';
import { paymentEvidence, payments } from '../payments/schema.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import {
  address,
  createVariant,
  EVIDENCE_SECRET,
  newKey,
  payEvidence,
  payOrder,
  placeOrder,
} from './fixtures.ts';
import { orderLines, orders, orderTransitions } from './schema.ts';

/**
 * Bad input for every checkout, order, delivery and payment route: each case changes one
 * part of an otherwise valid request and must get a 4xx problem+json naming the field, with
 * every table's row count unchanged.
 */
let dp: TestDataPlane;
let variant: string;
let pending: { id: string; access_token: string; total_minor: number; currency: string; rail: string };
let paid: { id: string };
let staff: Record<string, string>;

beforeAll(async () => {
  dp = await startTestDataPlane();
  variant = await createVariant(dp, { stock: 100 });
  pending = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail: 'amn_escrow' });
  paid = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail: 'amn_direct' });
  await payOrder(dp, paid as never);
  staff = await dp.staffHeaders('owner');
});
afterAll(() => dp.close());

const tables = [
  orders,
  orderLines,
  orderTransitions,
  payments,
  paymentEvidence,
  idempotencyKeys,
  ledgerTransactions,
  ledgerEntries,
  orderTrackingEvents,
  stockLevels,
  stockMovements,
  outboxEvents,
  auditLog,
];
const counts = () => Promise.all(tables.map((table) => dp.rowCount(table)));

const checkoutBody = (change: Record<string, unknown> = {}) => ({
  lines: [{ variant_id: variant, quantity: 1 }],
  email: 'guest@example.com',
  rail: 'amn_escrow',
  shipping_address: address,
  ...change,
});
const checkout = (change: Record<string, unknown>, headers: Record<string, string> = {}): InjectOptions => ({
  method: 'POST',
  url: '/api/storefront/checkout',
  headers: { 'idempotency-key': newKey(), ...headers },
  payload: checkoutBody(change),
});
const admin =
  (path: string, payload: unknown, method: 'POST' | 'GET' = 'POST'): (() => InjectOptions) =>
  () => ({
    method,
    url: path.replace(':id', paid.id).replace(':pending', pending.id),
    headers: staff,
    ...(method === 'POST' ? { payload: payload as Record<string, unknown> } : {}),
  });
function evidence(change: Record<string, unknown>): InjectOptions {
  const raw = JSON.stringify({ ...payEvidence(pending), ...change });
  const ts = Math.floor(Date.now() / 1000);
  return {
    method: 'POST',
    url: '/api/payments/evidence',
    headers: {
      'content-type': 'application/json',
      'x-payment-timestamp': String(ts),
      'x-payment-signature': signEvidence(EVIDENCE_SECRET, ts, raw),
    },
    payload: raw,
  };
}

type Case = [name: string, request: () => InjectOptions, status: number, field: string | null];

const cases: Case[] = [
  ['checkout: lines not an array', () => checkout({ lines: 'x' }), 400, 'body.lines'],
  [
    'checkout: 101 lines',
    () => checkout({ lines: Array.from({ length: 101 }, () => ({ variant_id: variant, quantity: 1 })) }),
    400,
    'body.lines',
  ],
  [
    'checkout: variant id not a uuid',
    () => checkout({ lines: [{ variant_id: 'abc', quantity: 1 }] }),
    400,
    'body.lines.0.variant_id',
  ],
  [
    'checkout: urn:uuid variant id',
    () => checkout({ lines: [{ variant_id: `urn:uuid:${variant}`, quantity: 1 }] }),
    400,
    'body.lines.0.variant_id',
  ],
  [
    'checkout: quantity as a string',
    () => checkout({ lines: [{ variant_id: variant, quantity: '1' }] }),
    400,
    'body.lines.0.quantity',
  ],
  [
    'checkout: a price on the line',
    () => checkout({ lines: [{ variant_id: variant, quantity: 1, price_minor: 1 }] }),
    400,
    'body.lines.0.price_minor',
  ],
  ['checkout: invalid email', () => checkout({ email: 'not-an-email' }), 400, 'body.email'],
  [
    'checkout: address without city',
    () => checkout({ shipping_address: { ...address, city: undefined } }),
    400,
    'body.shipping_address.city',
  ],
  [
    'checkout: lower-case country',
    () => checkout({ shipping_address: { ...address, country: 'ir' } }),
    400,
    'body.shipping_address.country',
  ],
  [
    'checkout: unknown address field',
    () => checkout({ shipping_address: { ...address, floor: 3 } }),
    400,
    'body.shipping_address.floor',
  ],
  ['checkout: note too long', () => checkout({ note: 'x'.repeat(1001) }), 400, 'body.note'],
  ['checkout: NUL in note', () => checkout({ note: 'a\u0000b' }), 400, 'body.note'],
  ['checkout: address_id as a guest', () => checkout({ address_id: variant }), 400, 'body.address_id'],
  [
    'checkout: short idempotency key',
    () => checkout({}, { 'idempotency-key': 'short' }),
    400,
    'headers.idempotency-key',
  ],
  ['checkout: unknown top-level field', () => checkout({ discount: 50 }), 400, 'body.discount'],
  ['order: id not a uuid', () => ({ method: 'GET', url: '/api/storefront/orders/123' }), 400, 'params.id'],
  [
    'order: malformed token query',
    () => ({ method: 'GET', url: `/api/storefront/orders/${pending.id}?token=abc` }),
    400,
    'query.token',
  ],
  [
    'order: malformed token header',
    () => ({
      method: 'GET',
      url: `/api/storefront/orders/${pending.id}`,
      headers: { 'x-order-token': 'abc' },
    }),
    400,
    'headers.x-order-token',
  ],
  [
    'order: unknown query field',
    () => ({ method: 'GET', url: `/api/storefront/orders/${pending.id}?debug=1` }),
    400,
    'query.debug',
  ],
  [
    'download: no signature',
    () => ({ method: 'GET', url: `/api/storefront/orders/${paid.id}/download?expires=1` }),
    400,
    'query.sig',
  ],
  [
    'download: expires not a number',
    () => ({
      method: 'GET',
      url: `/api/storefront/orders/${paid.id}/download?expires=soon&sig=${'a'.repeat(43)}`,
    }),
    400,
    'query.expires',
  ],
  ['admin list: unknown status', admin('/api/admin/orders?status=lost', null, 'GET'), 400, 'query.status.0'],
  ['admin list: limit 0', admin('/api/admin/orders?limit=0', null, 'GET'), 400, 'query.limit'],
  ['admin list: limit 101', admin('/api/admin/orders?limit=101', null, 'GET'), 400, 'query.limit'],
  ['admin list: page 0', admin('/api/admin/orders?page=0', null, 'GET'), 400, 'query.page'],
  ['admin list: from not a date', admin('/api/admin/orders?from=yesterday', null, 'GET'), 400, 'query.from'],
  [
    'admin list: to before from',
    admin('/api/admin/orders?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z', null, 'GET'),
    400,
    'query.to',
  ],
  ['admin list: unknown sort', admin('/api/admin/orders?sort=email', null, 'GET'), 400, 'query.sort'],
  [
    'admin list: unknown parameter',
    admin('/api/admin/orders?tenant_id=x', null, 'GET'),
    400,
    'query.tenant_id',
  ],
  ['admin detail: id not a uuid', admin('/api/admin/orders/xyz', null, 'GET'), 400, 'params.id'],
  ['cancel: no reason', admin('/api/admin/orders/:pending/cancel', {}), 400, 'body.reason'],
  [
    'cancel: reason too long',
    admin('/api/admin/orders/:pending/cancel', { reason: 'x'.repeat(2001) }),
    400,
    'body.reason',
  ],
  [
    'cancel: unknown field',
    admin('/api/admin/orders/:pending/cancel', { reason: 'x', restock: false }),
    400,
    'body.restock',
  ],
  ['refund: empty reason', admin('/api/admin/orders/:id/refund', { reason: '' }), 400, 'body.reason'],
  [
    'dispute: reason not a string',
    admin('/api/admin/orders/:pending/dispute', { reason: 5 }),
    400,
    'body.reason',
  ],
  [
    'release-escrow: unknown field',
    admin('/api/admin/orders/:pending/release-escrow', { amount_minor: 1 }),
    400,
    'body.amount_minor',
  ],
  ['complete: note not a string', admin('/api/admin/orders/:id/complete', { note: ['x'] }), 400, 'body.note'],
  [
    'start-fulfillment: bad tracking number',
    admin('/api/admin/orders/:id/start-fulfillment', { tracking_number: 'a;b' }),
    400,
    'body.tracking_number',
  ],
  [
    'start-fulfillment: empty carrier',
    admin('/api/admin/orders/:id/start-fulfillment', { carrier: '' }),
    400,
    'body.carrier',
  ],
  [
    'tracking: unknown status',
    admin('/api/admin/orders/:id/tracking', { status: 'lost', description: 'x' }),
    400,
    'body.status',
  ],
  [
    'tracking: no description',
    admin('/api/admin/orders/:id/tracking', { status: 'note' }),
    400,
    'body.description',
  ],
  [
    'tracking: occurred_at not a date',
    admin('/api/admin/orders/:id/tracking', { status: 'note', description: 'x', occurred_at: 'today' }),
    400,
    'body.occurred_at',
  ],
  [
    'confirm-delivery: unknown field',
    admin('/api/admin/orders/:id/confirm-delivery', { at: 'now' }),
    400,
    'body.at',
  ],
  [
    'digital-delivery: http url',
    admin('/api/admin/orders/:id/digital-delivery', { url: 'http://example.com/f' }),
    400,
    'body.url',
  ],
  [
    'confirm-payment: negative amount',
    admin('/api/admin/orders/:pending/confirm-payment', { note: 'x', amount_minor: -1, currency: 'USD' }),
    400,
    'body.amount_minor',
  ],
  [
    'confirm-payment: lower-case currency',
    admin('/api/admin/orders/:pending/confirm-payment', { note: 'x', amount_minor: 1, currency: 'usd' }),
    400,
    'body.currency',
  ],
  [
    'confirm-payment: no note',
    admin('/api/admin/orders/:pending/confirm-payment', { amount_minor: 1, currency: 'USD' }),
    400,
    'body.note',
  ],
  ['evidence: amount as a string', () => evidence({ amount_minor: '100' }), 400, 'body.amount_minor'],
  ['evidence: order id not a uuid', () => evidence({ order_id: 'x' }), 400, 'body.order_id'],
  ['evidence: manual_invoice rail', () => evidence({ rail: 'manual_invoice' }), 400, 'body.rail'],
  ['evidence: evidence id with spaces', () => evidence({ evidence_id: 'a b' }), 400, 'body.evidence_id'],
  ['evidence: missing currency', () => evidence({ currency: undefined }), 400, 'body.currency'],
  [
    'evidence: malformed JSON (signed)',
    () => {
      const raw = '{"evidence_id": ';
      const ts = Math.floor(Date.now() / 1000);
      return {
        method: 'POST',
        url: '/api/payments/evidence',
        headers: {
          'content-type': 'application/json',
          'x-payment-timestamp': String(ts),
          'x-payment-signature': signEvidence(EVIDENCE_SECRET, ts, raw),
        },
        payload: raw,
      };
    },
    400,
    null,
  ],
  [
    'evidence: text/plain body',
    () => ({
      method: 'POST',
      url: '/api/payments/evidence',
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    }),
    415,
    null,
  ],
];

describe('bad input on checkout, order, delivery and payment routes', () => {
  it('the valid baselines are accepted', async () => {
    expect((await dp.app.inject(checkout({}))).statusCode).toBe(201);
    expect(
      (await dp.app.inject(admin('/api/admin/orders?status=paid_direct&limit=5', null, 'GET')())).statusCode,
    ).toBe(200);
  });

  it.each(cases)('%s → %i naming %s, nothing written', async (_name, request, status, field) => {
    const before = await counts();
    const response = await dp.app.inject(request());
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    if (field) expect(response.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await counts()).toEqual(before);
  });
});
