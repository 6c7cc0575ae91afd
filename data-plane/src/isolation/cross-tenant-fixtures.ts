import { randomBytes } from 'node:crypto';
import { quoteIdent } from '@amanat/kit/postgres/test-databases';
import { and, eq } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import { expect } from 'vitest';
import { BUYER_SESSION_COOKIE } from '../buyers/session.ts';
import { createCategory, createProduct } from '../catalog/testing.ts';
import { emailMessages } from '../email/schema.ts';
import { dispatchOnce } from '../events/dispatcher.ts';
import { adminPost, createBuyer, newKey, payOrder, placeOrder } from '../orders/fixtures.ts';
import type { TestDataPlane } from '../testing/harness.ts';

/**
 * Seeding and bookkeeping for the cross-tenant route test: tenant B's shop built through
 * B's own API, tenant A's few rows to attack from, snapshots of every tenant-owned row and
 * the list of B's values that must never show up in A's responses.
 */

export const B_PASSWORD = 'tenant-b correct horse battery';

function expectStatus(response: LightMyRequestResponse, status: number) {
  expect(response.statusCode, `${response.statusCode} ${response.body}`).toBe(status);
  return response;
}

interface PlacedOrder {
  id: string;
  total_minor: number;
  currency: string;
  rail: string;
  access_token?: string;
}

/** B's order in the status the route attacking it needs for the action to be legal on B itself. */
async function orderIn(
  b: TestDataPlane,
  lines: { variant_id: string; quantity: number }[],
  options: { cookie?: string; email?: string; rail: string; key?: string },
  steps: ('pay' | 'start-fulfillment' | 'confirm-delivery')[],
): Promise<PlacedOrder> {
  const order = (await placeOrder(b, { lines, ...options })) as PlacedOrder;
  for (const step of steps) {
    if (step === 'pay') await payOrder(b, order);
    else expectStatus(await adminPost(b, order.id, step, {}), 200);
  }
  return order;
}

export async function seedTenantB(b: TestDataPlane) {
  const tag = randomBytes(4).toString('hex');
  const owner = await b.staffHeaders('owner');

  const category = await createCategory(b, { name: `Tenant B category ${tag}`, slug: `tenant-b-cat-${tag}` });
  const categoryName = `Tenant B category ${tag}`;
  const productTitle = `Tenant B secret lamp ${tag}`;
  const skus = [`TENANT-B-SKU-1-${tag}`, `TENANT-B-SKU-2-${tag}`] as const;
  const product = await createProduct(b, {
    slug: `tenant-b-lamp-${tag}`,
    title: productTitle,
    description: `Tenant B description ${tag}`,
    category_id: category.id,
    tags: [`tenant-b-tag-${tag}`],
    variants: [
      { sku: skus[0], options: { colour: `tenant-b-red-${tag}` }, price_minor: 2500, stock: 100 },
      { sku: skus[1], price_minor: 4000, stock: 100 },
    ],
  });
  const [v1, v2] = product.variants.map((variant) => variant.id) as [string, string];
  expectStatus(
    await b.app.inject({
      method: 'POST',
      url: `/api/admin/inventory/${v2}/adjustments`,
      headers: owner,
      payload: { delta: 7, reason: 'restock', note: `tenant-b restock ${tag}` },
    }),
    200,
  );
  expectStatus(
    await b.app.inject({
      method: 'PUT',
      url: `/api/admin/inventory/${v2}/threshold`,
      headers: owner,
      payload: { low_stock_threshold: 3 },
    }),
    200,
  );

  const buyerEmail = `tenant-b-buyer-${tag}@example.com`;
  const registered = expectStatus(
    await b.app.inject({
      method: 'POST',
      url: '/api/storefront/account/register',
      payload: { email: buyerEmail, password: B_PASSWORD, display_name: `Tenant B buyer ${tag}` },
    }),
    201,
  );
  const sid = registered.cookies.find((cookie) => cookie.name === BUYER_SESSION_COOKIE)?.value as string;
  const buyer = {
    id: registered.json().buyer.id as string,
    email: buyerEmail,
    cookie: `${BUYER_SESSION_COOKIE}=${sid}`,
  };
  const address = expectStatus(
    await b.app.inject({
      method: 'POST',
      url: '/api/storefront/account/addresses',
      headers: { cookie: buyer.cookie },
      payload: {
        label: `tenant-b home ${tag}`,
        recipient_name: `Tenant B recipient ${tag}`,
        line1: `tenant-b street ${tag}`,
        city: 'Shiraz',
        country: 'IR',
      },
    }),
    201,
  ).json() as { id: string };

  const one = [{ variant_id: v1, quantity: 1 }];
  const guestEmail = `tenant-b-guest-${tag}@example.com`;
  const guestKey = newKey();
  const asBuyer = { cookie: buyer.cookie };
  const orders = {
    /** Guest, unpaid: cancel is legal; read with its access token. */
    guestPending: await orderIn(b, one, { email: guestEmail, rail: 'amn_escrow', key: guestKey }, []),
    /** Guest, amn_direct, unpaid: scanner evidence would pay it. */
    payable: await orderIn(b, one, { email: guestEmail, rail: 'amn_direct' }, []),
    /** Guest, manual_invoice, unpaid: staff could confirm its payment. */
    manualPending: await orderIn(b, one, { email: guestEmail, rail: 'manual_invoice' }, []),
    /** The buyer's escrow order in fulfillment, with tracking and digital goods. */
    fulfilling: await orderIn(b, one, { ...asBuyer, rail: 'amn_escrow' }, ['pay']),
    refundable: await orderIn(b, one, { ...asBuyer, rail: 'amn_escrow' }, ['pay']),
    disputable: await orderIn(b, one, { ...asBuyer, rail: 'amn_escrow' }, ['pay']),
    fulfillable: await orderIn(b, one, { ...asBuyer, rail: 'amn_direct' }, ['pay']),
    releasable: await orderIn(b, one, { ...asBuyer, rail: 'amn_escrow' }, [
      'pay',
      'start-fulfillment',
      'confirm-delivery',
    ]),
    completable: await orderIn(b, one, { ...asBuyer, rail: 'amn_direct' }, [
      'pay',
      'start-fulfillment',
      'confirm-delivery',
    ]),
  };
  const carrier = `TenantBPost ${tag}`;
  const trackingNumber = `TB-${tag}`;
  const digitalUrl = `https://files.example.com/tenant-b-${tag}`;
  expectStatus(
    await adminPost(b, orders.fulfilling.id, 'start-fulfillment', {
      carrier,
      tracking_number: trackingNumber,
    }),
    200,
  );
  expectStatus(
    await adminPost(b, orders.fulfilling.id, 'tracking', {
      status: 'in_transit',
      description: `tenant-b parcel ${tag}`,
      location: `tenant-b depot ${tag}`,
    }),
    200,
  );
  expectStatus(await adminPost(b, orders.fulfilling.id, 'digital-delivery', { url: digitalUrl }), 200);
  // An evidence id B has used, for A's scanner evidence to reuse (ids count once per tenant).
  const usedEvidenceId = (
    await b.app.inject({ method: 'GET', url: `/api/admin/orders/${orders.disputable.id}`, headers: owner })
  ).json().evidence[0].evidence_id as string;
  const downloadPath = (
    await b.app.inject({
      method: 'GET',
      url: `/api/storefront/orders/${orders.fulfilling.id}`,
      headers: { cookie: buyer.cookie },
    })
  ).json().digital_delivery.path as string;

  const hook = expectStatus(
    await b.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: owner,
      payload: {
        url: `http://127.0.0.1:1/tenant-b-hook-${tag}`,
        event_types: ['order.created', 'order.paid'],
        description: `tenant-b hook ${tag}`,
      },
    }),
    201,
  ).json() as { endpoint: { id: string; url: string }; secret: string };
  // Nothing listens on port 1: each attempt fails at once and is logged as a delivery.
  await dispatchOnce(b.ctx, { timeoutMs: 2_000, batchSize: 100 });
  const deliveries = (
    await b.app.inject({
      method: 'GET',
      url: `/api/admin/webhooks/${hook.endpoint.id}/deliveries`,
      headers: owner,
    })
  ).json().items as { id: number; event_id: string }[];
  expect(deliveries.length).toBeGreaterThan(0);
  // The guest order's confirmation, failed (as the sender leaves it after its last attempt):
  // the one state in which staff may send it again.
  const confirmation = (
    await b.app.inject({ url: `/api/admin/emails?order_id=${orders.guestPending.id}`, headers: owner })
  ).json().items[0] as { id: string };
  await b.db
    .update(emailMessages)
    .set({ status: 'failed', attempts: 5, lastError: 'connect ECONNREFUSED' })
    .where(and(eq(emailMessages.tenantId, b.tenantId), eq(emailMessages.id, confirmation.id)));

  return {
    tenantId: b.tenantId,
    tag,
    category: { id: category.id, slug: category.slug, name: categoryName },
    product: { id: product.id, slug: product.slug, title: productTitle },
    variants: [v1, v2] as const,
    skus,
    buyer,
    addressId: address.id,
    guestEmail,
    guestKey,
    orders,
    usedEvidenceId,
    downloadPath,
    carrier,
    trackingNumber,
    digitalUrl,
    webhook: { id: hook.endpoint.id, url: hook.endpoint.url, secret: hook.secret },
    deliveries,
    failedEmailId: confirmation.id,
  };
}

export type TenantBSeed = Awaited<ReturnType<typeof seedTenantB>>;

/** What A attacks from: its own category, product, buyer session, guest order and an unpaid order. */
export async function seedTenantA(a: TestDataPlane) {
  const tag = randomBytes(4).toString('hex');
  const category = await createCategory(a, { name: `Tenant A category ${tag}`, slug: `tenant-a-cat-${tag}` });
  const product = await createProduct(a, {
    slug: `tenant-a-mug-${tag}`,
    title: `Tenant A mug ${tag}`,
    variants: [{ sku: `TENANT-A-SKU-${tag}`, price_minor: 1000, stock: 100 }],
  });
  const variantId = product.variants[0]?.id as string;
  const buyer = await createBuyer(a);
  const lines = [{ variant_id: variantId, quantity: 1 }];
  const guestOrder = (await placeOrder(a, {
    lines,
    email: `tenant-a-guest-${tag}@example.com`,
  })) as PlacedOrder;
  const payable = (await placeOrder(a, { lines, rail: 'amn_direct' })) as PlacedOrder;
  return {
    tag,
    categoryId: category.id,
    productId: product.id,
    variantId,
    buyer,
    guestToken: guestOrder.access_token as string,
    payable,
  };
}

export type TenantASeed = Awaited<ReturnType<typeof seedTenantA>>;

/**
 * Every value of B's that would betray a leak if it appeared in a response of A's, by name:
 * ids, emails, names, titles, SKUs, slugs, tokens, secrets.
 */
export function valuesOfB(b: TenantBSeed): Record<string, string> {
  const values: Record<string, string> = {
    "B's tenant id": b.tenantId,
    "B's category id": b.category.id,
    "B's category slug": b.category.slug,
    "B's category name": b.category.name,
    "B's product id": b.product.id,
    "B's product slug": b.product.slug,
    "B's product title": b.product.title,
    "B's variant 1 id": b.variants[0],
    "B's variant 2 id": b.variants[1],
    "B's SKU 1": b.skus[0],
    "B's SKU 2": b.skus[1],
    "B's buyer id": b.buyer.id,
    "B's buyer email": b.buyer.email,
    "B's address id": b.addressId,
    "B's guest email": b.guestEmail,
    "B's carrier": b.carrier,
    "B's tracking number": b.trackingNumber,
    "B's digital goods URL": b.digitalUrl,
    "B's download link": b.downloadPath,
    "B's evidence id": b.usedEvidenceId,
    "B's webhook id": b.webhook.id,
    "B's webhook URL": b.webhook.url,
    "B's webhook secret": b.webhook.secret,
    "B's guest access token": b.orders.guestPending.access_token as string,
    // Every seeded string of B's carries the tag, so this also catches names, labels and notes.
    'anything tagged for B': b.tag,
  };
  for (const [name, order] of Object.entries(b.orders)) values[`B's order ${name}`] = order.id;
  for (const delivery of b.deliveries) values[`B's webhook event ${delivery.event_id}`] = delivery.event_id;
  return values;
}

/**
 * Names of B's values found in `text` that the request did not carry itself: echoing the id
 * a caller sent ("No order <id> in this shop") tells them nothing they did not know.
 */
export function leakedValues(text: string, sent: string, values: Record<string, string>): string[] {
  const haystack = text.toLowerCase();
  const carried = sent.toLowerCase();
  return Object.entries(values)
    .filter(([, value]) => haystack.includes(value.toLowerCase()) && !carried.includes(value.toLowerCase()))
    .map(([name]) => name);
}

/** A tenant's rows in every tenant-owned table, one sorted JSON text per row, by table. */
export type TenantRows = Record<string, string[]>;

/**
 * The tables to snapshot, read from the database so a new table is covered without a change
 * here. A table without tenant_id could hold another tenant's rows unseen: that fails.
 */
export async function tenantTables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string; has_tenant: boolean }>(`
    SELECT t.table_name,
           EXISTS (SELECT 1 FROM information_schema.columns c
                    WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name
                      AND c.column_name = 'tenant_id') AS has_tenant
      FROM information_schema.tables t
     WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
       AND t.table_name <> '__drizzle_migrations'
     ORDER BY t.table_name`);
  const untenanted = rows.filter((row) => !row.has_tenant).map((row) => row.table_name);
  expect(untenanted, 'tables without tenant_id').toEqual([]);
  return rows.map((row) => row.table_name);
}

export async function tenantRows(pool: pg.Pool, tables: string[], tenantId: string): Promise<TenantRows> {
  const { rows } = await pool.query<{ table_name: string; row: string }>(
    tables
      .map(
        (table) =>
          `SELECT '${table}' AS table_name, to_jsonb(t)::text AS row FROM ${quoteIdent(table)} t WHERE t.tenant_id = $1`,
      )
      .join(' UNION ALL '),
    [tenantId],
  );
  const byTable: TenantRows = Object.fromEntries(tables.map((table) => [table, []]));
  for (const row of rows) byTable[row.table_name]?.push(row.row);
  for (const list of Object.values(byTable)) list.sort();
  return byTable;
}

/** "table: +n −m" for each table whose rows differ; empty when nothing changed. */
export function rowChanges(before: TenantRows, after: TenantRows): string[] {
  const changes: string[] = [];
  for (const table of Object.keys(before)) {
    const was = new Set(before[table]);
    const now = new Set(after[table]);
    const added = [...now].filter((row) => !was.has(row)).length;
    const removed = [...was].filter((row) => !now.has(row)).length;
    if (added || removed) changes.push(`${table}: +${added} −${removed}`);
  }
  return changes;
}
