import { randomBytes, randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { systemActor } from '../audit/record.ts';
import { buyerSessions, buyers } from '../buyers/schema.ts';
import { BUYER_SESSION_COOKIE, hashSessionToken } from '../buyers/session.ts';
import { categories, products, stockLevels, variants } from '../catalog/schema.ts';
import { adjustStock } from '../inventory/service.ts';
import { signEvidence } from '../payments/adapters.ts';
import type { PaymentPolicy } from '../settings/schema.ts';
import { shopSettings } from '../settings/schema.ts';
import { PAYMENT_EVIDENCE_SECRET, type TestDataPlane } from '../testing/harness.ts';

/**
 * Test fixtures for checkout and orders: catalog rows inserted directly (not through the
 * catalog API), buyers with live sessions, signed payment evidence.
 */
export async function createCategory(
  dp: TestDataPlane,
  parentId: string | null = null,
  tenantId = dp.tenantId,
) {
  const [row] = await dp.db
    .insert(categories)
    .values({ tenantId, parentId, name: 'Category', slug: `c-${randomUUID()}` })
    .returning();
  return row?.id as string;
}

export async function createVariant(
  dp: TestDataPlane,
  options: {
    priceMinor?: number;
    stock?: number;
    currency?: string;
    categoryId?: string | null;
    tenantId?: string;
    status?: 'active' | 'archived';
  } = {},
): Promise<string> {
  const tenantId = options.tenantId ?? dp.tenantId;
  const price = options.priceMinor ?? 1500;
  const [product] = await dp.db
    .insert(products)
    .values({
      tenantId,
      slug: `p-${randomUUID()}`,
      title: 'Test product',
      categoryId: options.categoryId ?? null,
      currency: options.currency ?? 'USD',
      priceMinor: price,
      status: options.status ?? 'active',
    })
    .returning();
  const [variant] = await dp.db
    .insert(variants)
    .values({ tenantId, productId: product?.id as string, sku: `SKU-${randomUUID()}`, priceMinor: price })
    .returning();
  const variantId = variant?.id as string;
  await dp.db.transaction((tx) =>
    adjustStock(tx, tenantId, systemActor('fixture'), variantId, { set: options.stock ?? 100 }, 'restock'),
  );
  return variantId;
}

export async function stockRow(dp: TestDataPlane, variantId: string) {
  const [row] = await dp.db
    .select()
    .from(stockLevels)
    .where(and(eq(stockLevels.tenantId, dp.tenantId), eq(stockLevels.variantId, variantId)));
  return row;
}

export async function setPolicy(dp: TestDataPlane, policy: Partial<PaymentPolicy>) {
  await dp.db
    .update(shopSettings)
    .set({
      paymentPolicy: sql`payment_policy || ${JSON.stringify(policy)}::jsonb`,
    })
    .where(eq(shopSettings.tenantId, dp.tenantId));
}

/** A buyer with a live session; `cookie` is the header value that signs them in. */
export async function createBuyer(dp: TestDataPlane) {
  const email = `buyer-${randomBytes(4).toString('hex')}@example.com`;
  const [buyer] = await dp.db
    .insert(buyers)
    .values({ tenantId: dp.tenantId, email, passwordHash: 'not-a-real-hash' })
    .returning();
  const token = randomBytes(32).toString('base64url');
  await dp.db.insert(buyerSessions).values({
    tenantId: dp.tenantId,
    buyerId: buyer?.id as string,
    tokenHash: hashSessionToken(token),
    expiresAt: new Date(Date.now() + 3600_000),
  });
  return { id: buyer?.id as string, email, cookie: `${BUYER_SESSION_COOKIE}=${token}` };
}

export const address = {
  recipient_name: 'Sara Ahmadi',
  line1: '1 Main Street',
  city: 'Tehran',
  country: 'IR',
};

let keyCounter = 0;
export const newKey = () => `test-key-${Date.now()}-${keyCounter++}-${randomBytes(4).toString('hex')}`;

export interface CheckoutOptions {
  lines: { variant_id: string; quantity: number }[];
  rail?: string;
  email?: string;
  cookie?: string;
  key?: string;
  extra?: Record<string, unknown>;
}

export function checkoutRequest(dp: TestDataPlane, options: CheckoutOptions) {
  return dp.app.inject({
    method: 'POST',
    url: '/api/storefront/checkout',
    headers: {
      'idempotency-key': options.key ?? newKey(),
      ...(options.cookie ? { cookie: options.cookie } : {}),
    },
    payload: {
      lines: options.lines,
      ...(options.cookie ? {} : { email: options.email ?? 'guest@example.com' }),
      ...(options.rail ? { rail: options.rail } : {}),
      shipping_address: address,
      ...options.extra,
    },
  });
}

/** Places an order and returns its body (throws unless 201). */
export async function placeOrder(dp: TestDataPlane, options: CheckoutOptions) {
  const response = await checkoutRequest(dp, options);
  if (response.statusCode !== 201)
    throw new Error(`checkout failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

export const EVIDENCE_SECRET = PAYMENT_EVIDENCE_SECRET;

export function evidenceRequest(
  dp: TestDataPlane,
  body: Record<string, unknown>,
  options: { secret?: string; timestamp?: number; signature?: string } = {},
) {
  const raw = JSON.stringify(body);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  return dp.app.inject({
    method: 'POST',
    url: '/api/payments/evidence',
    headers: {
      'content-type': 'application/json',
      'x-payment-timestamp': String(timestamp),
      'x-payment-signature':
        options.signature ?? signEvidence(options.secret ?? EVIDENCE_SECRET, timestamp, raw),
    },
    payload: raw,
  });
}

/** Evidence that pays the order in full, as the scanner would send it. */
export function payEvidence(order: { id: string; total_minor: number; currency: string; rail: string }) {
  return {
    evidence_id: `ev-${randomUUID()}`,
    order_id: order.id,
    rail: order.rail,
    amount_minor: order.total_minor,
    currency: order.currency,
  };
}

export async function payOrder(
  dp: TestDataPlane,
  order: { id: string; total_minor: number; currency: string; rail: string },
) {
  const response = await evidenceRequest(dp, payEvidence(order));
  if (response.statusCode !== 200) throw new Error(`payment failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

export async function adminPost(
  dp: TestDataPlane,
  orderId: string,
  action: string,
  body: Record<string, unknown> = {},
  role: Parameters<TestDataPlane['staffHeaders']>[0] = 'owner',
) {
  return dp.app.inject({
    method: 'POST',
    url: `/api/admin/orders/${orderId}/${action}`,
    headers: await dp.staffHeaders(role),
    payload: body,
  });
}
