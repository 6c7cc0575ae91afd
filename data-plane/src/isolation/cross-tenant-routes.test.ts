import { randomBytes } from 'node:crypto';
import { sign } from '@telegram-apps/init-data-node';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedDownloadLink } from '../delivery/service.ts';
import { address, EVIDENCE_SECRET, newKey, payEvidence } from '../orders/fixtures.ts';
import { signEvidence } from '../payments/adapters.ts';
import { newTenant, openTestProvisioner } from '../provisioning/testing.ts';
import { defaultPaymentPolicy } from '../settings/service.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import {
  B_PASSWORD,
  leakedValues,
  rowChanges,
  seedTenantA,
  seedTenantB,
  type TenantASeed,
  type TenantBSeed,
  type TenantRows,
  tenantRows,
  tenantTables,
  valuesOfB,
} from './cross-tenant-fixtures.ts';

/**
 * Shared isolation as the application sees it: two data planes, tenants A and B, on one
 * database. B's shop is seeded through B's API; then every route of A's that takes an id is
 * called with A's own credentials and B's ids, and must answer 404 without a trace of B in
 * the response and without changing a row of B's (or of A's). Ids carried in bodies and
 * queries are attacked too. Attacks on B's rows have a control: the same request with B's
 * own credentials on B succeeds, so a 404 on A means isolation, not a request that could
 * never have worked. The list of id-taking routes comes from the app, so a new one fails here
 * until it is given a row in `pathAttacks`.
 */

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who sends the request: named from A's side; on B (the control) each maps to B's own equivalent. */
type Credential =
  | 'A owner token'
  | 'A buyer cookie'
  | 'A guest token'
  | 'B guest token'
  | 'B buyer cookie'
  | 'none';

interface Request {
  url: string;
  /** An object is sent as JSON; a string as is, with the content type in `headers`. */
  payload?: string | object;
  headers?: Record<string, string>;
}

interface Attempt {
  /** Which of B's values the request carries (the matrix's column). */
  with: string;
  as: Credential;
  request: Request;
  /** 404 unless said. */
  expect?: number;
  /** The field a 400 must name. */
  field?: string;
  /** A subset the JSON response must match. */
  matches?: object;
  /** The request may write A's own rows; otherwise A must be unchanged as well. */
  writesA?: boolean;
  /** The same request (or `request`) with B's credentials on B; false when none applies. */
  control?: false | { request?: Request; expect?: number; contains?: string; rank?: number };
}

interface Seeds {
  a: TestDataPlane;
  A: TenantASeed;
  B: TenantBSeed;
}

/**
 * Ranks order the writing controls on B (reads go first), so that one control does not
 * spoil another: ending B's sessions, archiving or deleting comes after what still needs them.
 */
const LATER = { rank: 1 };
const AFTER_ARCHIVE_NEEDS = { rank: 2 };
const DISABLE = { rank: 3 };
const ENABLE = { rank: 4 };

const staff = (withWhat: string, url: string, payload?: object, more: Partial<Attempt> = {}): Attempt => ({
  with: withWhat,
  as: 'A owner token',
  request: { url, ...(payload ? { payload } : {}) },
  ...more,
});

const buyer = (withWhat: string, url: string, payload?: object, more: Partial<Attempt> = {}): Attempt => ({
  with: withWhat,
  as: 'A buyer cookie',
  request: { url, ...(payload ? { payload } : {}) },
  ...more,
});

/**
 * How to fill each id-taking route with B's ids, keyed by method and URL as the app
 * registers them (HEAD uses its GET's row). B's orders are each in a status where the
 * route's action is legal, so only the tenant boundary stands between A and B's data.
 */
const pathAttacks: Record<string, (s: Seeds) => Attempt[]> = {
  'GET /api/storefront/items/:id': ({ B }) => [
    buyer("B's product id", `/api/storefront/items/${B.product.id}`),
    buyer("B's product slug", `/api/storefront/items/${B.product.slug}`),
  ],
  'PATCH /api/admin/categories/:id': ({ B }) => [
    staff("B's category id", `/api/admin/categories/${B.category.id}`, { name: 'Renamed by A' }),
  ],
  'GET /api/admin/products/:id': ({ B }) => [staff("B's product id", `/api/admin/products/${B.product.id}`)],
  'PATCH /api/admin/products/:id': ({ B }) => [
    staff("B's product id", `/api/admin/products/${B.product.id}`, { title: 'Renamed by A' }),
  ],
  'POST /api/admin/products/:id/archive': ({ B }) => [
    staff("B's product id", `/api/admin/products/${B.product.id}/archive`, undefined, {
      control: AFTER_ARCHIVE_NEEDS,
    }),
  ],
  'GET /api/admin/inventory/:variantId': ({ B }) => [
    staff("B's variant id", `/api/admin/inventory/${B.variants[0]}`),
  ],
  'POST /api/admin/inventory/:variantId/adjustments': ({ B }) => [
    staff("B's variant id", `/api/admin/inventory/${B.variants[0]}/adjustments`, {
      delta: 5,
      reason: 'restock',
      note: 'added by A',
    }),
    staff("B's variant id", `/api/admin/inventory/${B.variants[1]}/adjustments`, {
      set: 0,
      reason: 'adjustment',
    }),
  ],
  'PUT /api/admin/inventory/:variantId/threshold': ({ B }) => [
    staff("B's variant id", `/api/admin/inventory/${B.variants[0]}/threshold`, { low_stock_threshold: 1 }),
  ],
  'PATCH /api/storefront/account/addresses/:id': ({ B }) => [
    buyer("B's address id", `/api/storefront/account/addresses/${B.addressId}`, { city: 'Changed by A' }),
  ],
  'DELETE /api/storefront/account/addresses/:id': ({ B }) => [
    buyer("B's address id", `/api/storefront/account/addresses/${B.addressId}`, undefined, {
      control: LATER,
    }),
  ],
  'GET /api/admin/customers/:id': ({ B }) => [staff("B's buyer id", `/api/admin/customers/${B.buyer.id}`)],
  'POST /api/admin/customers/:id/disable': ({ B }) => [
    staff(
      "B's buyer id",
      `/api/admin/customers/${B.buyer.id}/disable`,
      { reason: 'by A' },
      { control: DISABLE },
    ),
  ],
  'POST /api/admin/customers/:id/enable': ({ B }) => [
    staff("B's buyer id", `/api/admin/customers/${B.buyer.id}/enable`, {}, { control: ENABLE }),
  ],
  'POST /api/admin/emails/:id/retry': ({ B }) => [
    staff("B's failed email id", `/api/admin/emails/${B.failedEmailId}/retry`, undefined, { control: LATER }),
  ],
  'GET /api/admin/webhooks/:id': ({ B }) => [staff("B's webhook id", `/api/admin/webhooks/${B.webhook.id}`)],
  'PATCH /api/admin/webhooks/:id': ({ B }) => [
    staff("B's webhook id", `/api/admin/webhooks/${B.webhook.id}`, {
      url: 'https://a.example.com/stolen',
      enabled: true,
    }),
  ],
  'DELETE /api/admin/webhooks/:id': ({ B }) => [
    staff("B's webhook id", `/api/admin/webhooks/${B.webhook.id}`, undefined, {
      control: AFTER_ARCHIVE_NEEDS,
    }),
  ],
  'POST /api/admin/webhooks/:id/rotate-secret': ({ B }) => [
    staff("B's webhook id", `/api/admin/webhooks/${B.webhook.id}/rotate-secret`),
  ],
  'GET /api/admin/webhooks/:id/deliveries': ({ B }) => [
    staff("B's webhook id", `/api/admin/webhooks/${B.webhook.id}/deliveries`),
    staff(
      "B's webhook id, before=B's delivery id",
      `/api/admin/webhooks/${B.webhook.id}/deliveries?before=${(B.deliveries[0]?.id ?? 0) + 1}`,
    ),
  ],
  'GET /api/storefront/orders/:id': ({ B }) => {
    const guest = B.orders.guestPending;
    return [
      buyer("B's buyer's order id", `/api/storefront/orders/${B.orders.fulfilling.id}`),
      buyer("B's guest order id", `/api/storefront/orders/${guest.id}`, undefined, {
        // B's buyer does not own B's guest order either: on B it takes the guest's token.
        control: { request: { url: `/api/storefront/orders/${guest.id}?token=${guest.access_token}` } },
      }),
      {
        with: "B's guest order id",
        as: 'A guest token',
        request: { url: `/api/storefront/orders/${guest.id}` },
      },
      {
        with: "B's guest order id and its own token",
        as: 'B guest token',
        request: { url: `/api/storefront/orders/${guest.id}` },
      },
      {
        with: "B's guest order id, its token in ?token=",
        as: 'none',
        request: { url: `/api/storefront/orders/${guest.id}?token=${guest.access_token}` },
      },
    ];
  },
  'GET /api/admin/orders/:id': ({ B }) => [
    staff("B's order id (in fulfillment)", `/api/admin/orders/${B.orders.fulfilling.id}`),
    staff("B's guest order id", `/api/admin/orders/${B.orders.guestPending.id}`),
  ],
  'POST /api/admin/orders/:id/cancel': ({ B }) => [
    staff("B's unpaid order id", `/api/admin/orders/${B.orders.guestPending.id}/cancel`, { reason: 'by A' }),
  ],
  'POST /api/admin/orders/:id/refund': ({ B }) => [
    staff("B's escrow-funded order id", `/api/admin/orders/${B.orders.refundable.id}/refund`, {
      reason: 'by A',
    }),
  ],
  'POST /api/admin/orders/:id/dispute': ({ B }) => [
    staff("B's escrow-funded order id", `/api/admin/orders/${B.orders.disputable.id}/dispute`, {
      reason: 'by A',
    }),
  ],
  'POST /api/admin/orders/:id/release-escrow': ({ B }) => [
    staff("B's delivered escrow order id", `/api/admin/orders/${B.orders.releasable.id}/release-escrow`, {}),
  ],
  'POST /api/admin/orders/:id/complete': ({ B }) => [
    staff("B's delivered direct order id", `/api/admin/orders/${B.orders.completable.id}/complete`, {}),
  ],
  'POST /api/admin/orders/:id/start-fulfillment': ({ B }) => [
    staff("B's paid order id", `/api/admin/orders/${B.orders.fulfillable.id}/start-fulfillment`, {
      carrier: 'A carrier',
    }),
  ],
  'POST /api/admin/orders/:id/tracking': ({ B }) => [
    staff("B's order id (in fulfillment)", `/api/admin/orders/${B.orders.fulfilling.id}/tracking`, {
      status: 'in_transit',
      description: 'by A',
    }),
  ],
  'POST /api/admin/orders/:id/confirm-delivery': ({ B }) => [
    staff(
      "B's order id (in fulfillment)",
      `/api/admin/orders/${B.orders.fulfilling.id}/confirm-delivery`,
      {},
      { control: LATER },
    ),
  ],
  'POST /api/admin/orders/:id/digital-delivery': ({ B }) => [
    staff("B's order id (in fulfillment)", `/api/admin/orders/${B.orders.fulfilling.id}/digital-delivery`, {
      url: 'https://a.example.com/goods',
    }),
  ],
  'POST /api/admin/orders/:id/confirm-payment': ({ B }) => [
    staff(
      "B's unpaid manual-invoice order id",
      `/api/admin/orders/${B.orders.manualPending.id}/confirm-payment`,
      { note: 'paid, says A', amount_minor: B.orders.manualPending.total_minor, currency: 'USD' },
    ),
  ],
  'GET /api/storefront/orders/:id/download': ({ a, B }) => [
    {
      // A forger who could sign for A still reaches only A's orders.
      with: "B's order id in a link signed for A",
      as: 'none',
      request: { url: signedDownloadLink(a.ctx, B.orders.fulfilling.id).path },
      control: { request: { url: B.downloadPath } },
    },
    // B's own link: the signature covers the tenant, so on A it is a forgery.
    { with: "B's own signed link", as: 'none', request: { url: B.downloadPath }, expect: 403 },
  ],
};

/** Mutating routes without a path parameter whose input names no record at all. */
/** Each shop has its own Telegram bot; initData signed for B's is forged as far as A can tell. */
const A_BOT_TOKEN = `1000001:${randomBytes(26).toString('base64url')}`;
const B_BOT_TOKEN = `2000002:${randomBytes(26).toString('base64url')}`;

const takesNoRecordId: Record<string, string> = {
  'POST /api/admin/webhooks': "a URL and event types; the new endpoint is A's",
};

function checkout(key: string, payload: object): Request {
  return { url: '/api/storefront/checkout', headers: { 'idempotency-key': key }, payload };
}

function signed(body: object): Request {
  const raw = JSON.stringify(body);
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    url: '/api/payments/evidence',
    headers: {
      'content-type': 'application/json',
      'x-payment-timestamp': String(timestamp),
      'x-payment-signature': signEvidence(EVIDENCE_SECRET, timestamp, raw),
    },
    payload: raw,
  };
}

const csv = (text: string): Request => ({
  url: '/api/admin/catalog/import',
  headers: { 'content-type': 'text/csv' },
  payload: text,
});

/** B's ids (and other values) where a body or query string carries them, keyed by route. */
function bodyAttacks({ A, B }: Seeds): (Attempt & { route: string })[] {
  const tag = randomBytes(3).toString('hex');
  const guest = B.orders.guestPending;
  const bLine = [{ variant_id: B.variants[0], quantity: 1 }];
  const aLine = [{ variant_id: A.variantId, quantity: 1 }];
  const search = encodeURIComponent(B.product.title);
  return [
    {
      route: 'POST /api/storefront/checkout',
      with: "B's variant id in the cart",
      as: 'A buyer cookie',
      request: checkout(newKey(), { lines: bLine, shipping_address: address }),
      expect: 400,
      field: 'body.lines.0.variant_id',
    },
    {
      route: 'POST /api/storefront/checkout',
      with: "B's variant id in a guest's cart",
      as: 'none',
      request: checkout(newKey(), {
        lines: bLine,
        email: `tenant-a-${tag}@example.com`,
        shipping_address: address,
      }),
      expect: 400,
      field: 'body.lines.0.variant_id',
    },
    {
      route: 'POST /api/storefront/checkout',
      with: "B's saved address id",
      as: 'A buyer cookie',
      request: checkout(newKey(), { lines: aLine, address_id: B.addressId }),
      expect: 400,
      field: 'body.address_id',
      control: { request: checkout(newKey(), { lines: bLine, address_id: B.addressId }) },
    },
    {
      // Were keys not per tenant, this would replay B's order and hand out its access token.
      route: 'POST /api/storefront/checkout',
      with: "B's idempotency key and B's exact request",
      as: 'none',
      request: checkout(B.guestKey, {
        lines: bLine,
        email: B.guestEmail,
        rail: 'amn_escrow',
        shipping_address: address,
      }),
      expect: 400,
      field: 'body.lines.0.variant_id',
      control: { contains: guest.access_token as string },
    },
    {
      route: 'POST /api/storefront/checkout',
      with: "B's idempotency key, A's own cart",
      as: 'none',
      request: checkout(B.guestKey, {
        lines: aLine,
        email: `tenant-a-${tag}@example.com`,
        shipping_address: address,
      }),
      expect: 201,
      writesA: true,
      control: false,
    },
    {
      route: 'POST /api/payments/evidence',
      with: "B's unpaid order id (validly signed evidence)",
      as: 'none',
      request: signed(payEvidence(B.orders.payable)),
    },
    {
      route: 'POST /api/payments/evidence',
      with: "B's evidence id, for A's own order",
      as: 'none',
      request: signed({ ...payEvidence(A.payable), evidence_id: B.usedEvidenceId }),
      expect: 200,
      writesA: true,
      control: false,
    },
    {
      route: 'POST /api/admin/categories',
      with: "B's category id as parent_id",
      as: 'A owner token',
      request: {
        url: '/api/admin/categories',
        payload: { name: 'A child', slug: `tenant-a-child-${tag}`, parent_id: B.category.id },
      },
      expect: 400,
      field: 'body.parent_id',
    },
    {
      route: 'PATCH /api/admin/categories/:id',
      with: "B's category id as parent_id of A's category",
      as: 'A owner token',
      request: { url: `/api/admin/categories/${A.categoryId}`, payload: { parent_id: B.category.id } },
      expect: 400,
      field: 'body.parent_id',
      control: false,
    },
    {
      route: 'POST /api/admin/products',
      with: "B's category id as category_id",
      as: 'A owner token',
      request: {
        url: '/api/admin/products',
        payload: {
          slug: `tenant-a-new-${tag}`,
          title: 'A new product',
          category_id: B.category.id,
          variants: [{ sku: `TENANT-A-NEW-${tag}`, price_minor: 100 }],
        },
      },
      expect: 400,
      field: 'body.category_id',
    },
    {
      route: 'PATCH /api/admin/products/:id',
      with: "B's category id as category_id of A's product",
      as: 'A owner token',
      request: { url: `/api/admin/products/${A.productId}`, payload: { category_id: B.category.id } },
      expect: 400,
      field: 'body.category_id',
      control: false,
    },
    {
      route: 'PATCH /api/admin/products/:id',
      with: "B's variant id among A's product's variants",
      as: 'A owner token',
      request: {
        url: `/api/admin/products/${A.productId}`,
        payload: { variants: [{ id: B.variants[0], price_minor: 1 }] },
      },
      expect: 400,
      field: 'body.variants.0.id',
      control: false,
    },
    {
      route: 'POST /api/admin/catalog/import',
      with: "B's product slug and SKU (A gets its own product)",
      as: 'A owner token',
      request: csv(
        `product_slug,title,sku,price_minor,stock\n${B.product.slug},A import,${B.skus[0]},999,5\n`,
      ),
      expect: 200,
      matches: { created: 1, updated: 0, errors: [] },
      writesA: true,
      control: false,
    },
    {
      route: 'POST /api/admin/catalog/import',
      with: "B's category slug",
      as: 'A owner token',
      request: csv(
        `product_slug,title,category_slug,sku,price_minor\ntenant-a-imp-${tag},A import,${B.category.slug},TENANT-A-IMP-${tag},100\n`,
      ),
      expect: 200,
      matches: { created: 0, errors: [{ line: 2, field: 'category_slug' }] },
      writesA: true,
      control: false,
    },
    {
      route: 'PATCH /api/admin/settings',
      with: "B's category id in escrow_required_category_ids",
      as: 'A owner token',
      request: {
        url: '/api/admin/settings',
        payload: {
          payment_policy: { ...defaultPaymentPolicy, escrow_required_category_ids: [B.category.id] },
        },
      },
      expect: 400,
      field: 'body.payment_policy.escrow_required_category_ids',
      control: false,
    },
    {
      route: 'POST /api/storefront/telegram/session',
      with: "initData from B's Mini App (signed with B's bot token)",
      as: 'none',
      request: {
        url: '/api/storefront/telegram/session',
        payload: {
          init_data: sign({ user: { id: 424_242, first_name: 'B' } }, B_BOT_TOKEN, new Date()),
        },
      },
      expect: 401,
      matches: { type: '/problems/telegram-init-data-forged' },
      control: { expect: 201 },
    },
    {
      route: 'POST /api/storefront/account/login',
      with: "B's buyer email and password",
      as: 'none',
      request: {
        url: '/api/storefront/account/login',
        payload: { email: B.buyer.email, password: B_PASSWORD },
      },
      expect: 401,
      writesA: true,
    },
    {
      route: 'POST /api/storefront/account/register',
      with: "B's buyer email (A gets its own account)",
      as: 'none',
      request: {
        url: '/api/storefront/account/register',
        payload: { email: B.buyer.email, password: 'tenant-a other password' },
      },
      expect: 201,
      writesA: true,
      control: false,
    },
    {
      // B's session must survive: A's logout finds no session of A's with that token.
      route: 'POST /api/storefront/account/logout',
      with: "B's session cookie",
      as: 'B buyer cookie',
      request: { url: '/api/storefront/account/logout' },
      expect: 204,
      control: false,
    },
    {
      route: 'GET /api/storefront/account/me',
      with: "B's session cookie",
      as: 'B buyer cookie',
      request: { url: '/api/storefront/account/me' },
      expect: 401,
    },
    {
      route: 'PATCH /api/storefront/account/me',
      with: "B's session cookie",
      as: 'B buyer cookie',
      request: { url: '/api/storefront/account/me', payload: { display_name: 'Renamed by A' } },
      expect: 401,
    },
    {
      route: 'GET /api/storefront/account/addresses',
      with: "B's session cookie",
      as: 'B buyer cookie',
      request: { url: '/api/storefront/account/addresses' },
      expect: 401,
    },
    {
      route: 'POST /api/storefront/account/addresses',
      with: "B's session cookie",
      as: 'B buyer cookie',
      request: {
        url: '/api/storefront/account/addresses',
        payload: { recipient_name: 'A', line1: 'A street', city: 'A city', country: 'IR' },
      },
      expect: 401,
    },
    {
      route: 'GET /api/storefront/catalog',
      with: "B's category id as ?category=",
      as: 'A buyer cookie',
      request: { url: `/api/storefront/catalog?category=${B.category.id}` },
      expect: 200,
      matches: { total: 0, items: [] },
      control: { contains: B.product.id },
    },
    {
      route: 'GET /api/storefront/catalog',
      with: "B's category slug as ?category=",
      as: 'A buyer cookie',
      request: { url: `/api/storefront/catalog?category=${B.category.slug}` },
      expect: 200,
      matches: { total: 0, items: [] },
      control: { contains: B.product.id },
    },
    {
      route: 'GET /api/storefront/catalog',
      with: "B's product title as ?search=",
      as: 'A buyer cookie',
      request: { url: `/api/storefront/catalog?search=${search}` },
      expect: 200,
      control: { contains: B.product.id },
    },
    {
      route: 'GET /api/admin/products',
      with: "B's category id as ?category=",
      as: 'A owner token',
      request: { url: `/api/admin/products?category=${B.category.id}` },
      expect: 200,
      matches: { total: 0, items: [] },
      control: { contains: B.product.id },
    },
    {
      route: 'GET /api/admin/products',
      with: "B's product title as ?q=",
      as: 'A owner token',
      request: { url: `/api/admin/products?q=${search}` },
      expect: 200,
      control: { contains: B.product.id },
    },
    {
      route: 'GET /api/admin/emails',
      with: "B's order id as ?order_id=",
      as: 'A owner token',
      request: { url: `/api/admin/emails?order_id=${B.orders.guestPending.id}` },
      expect: 200,
      matches: { total: 0, items: [] },
      control: { contains: B.guestEmail },
    },
    {
      route: 'GET /api/admin/emails',
      with: 'no filter: the whole list',
      as: 'A owner token',
      request: { url: '/api/admin/emails?limit=100' },
      expect: 200,
      control: { contains: B.orders.guestPending.id },
    },
    {
      route: 'GET /api/admin/orders',
      with: "B's buyer email as ?q=",
      as: 'A owner token',
      request: { url: `/api/admin/orders?q=${encodeURIComponent(B.buyer.email)}` },
      expect: 200,
      matches: { total: 0, items: [] },
      control: { contains: B.orders.fulfilling.id },
    },
  ];
}

// ---- running attempts

let a: TestDataPlane;
let b: TestDataPlane;
let seeds: Seeds;
let forbidden: Record<string, string>;
let tables: string[];
/** Both tenants' rows as the last attempt left them: each attempt is judged by what it changed. */
let bRows: TenantRows;
let aRows: TenantRows;

interface Row {
  phase: string;
  route: string;
  with: string;
  as: string;
  expected: number | string;
  got: number | string;
  'B rows': string;
  'A rows': string;
  'control on B': number | string;
  result: string;
}
const matrix: Row[] = [];
type Control = Exclude<Attempt['control'], false | undefined>;
const controls: { row: Row; method: Method; request: Request; as: Credential; control: Control }[] = [];

let provisioned: Awaited<ReturnType<typeof openTestProvisioner>>;
/** Reads both tenants' rows past row-level security, to judge what each attempt changed. */
let admin: pg.Pool;

/**
 * Both shops are provisioned in the shared mode, so the application-level attempts run
 * against the real thing: one database, each data plane on its own login, under forced RLS.
 */
beforeAll(async () => {
  provisioned = await openTestProvisioner();
  const { provisioner } = provisioned;
  const [tenantA, tenantB] = [newTenant(), newTenant()];
  const loginA = (await provisioner.provision(tenantA, 'shared')).credentials?.url as string;
  const loginB = (await provisioner.provision(tenantB, 'shared')).credentials?.url as string;
  admin = new pg.Pool({
    connectionString: provisioner.servers.adminUrl('default', provisioned.databases.shared),
  });
  // With SMTP_URL, both shops' checkouts queue confirmation emails (nothing sends them here).
  const smtp = { SMTP_URL: 'smtp://127.0.0.1:1' };
  a = await startTestDataPlane({
    database: { url: loginA },
    tenantId: tenantA.id,
    env: { TELEGRAM_BOT_TOKEN: A_BOT_TOKEN, ...smtp },
  });
  b = await startTestDataPlane({
    database: { url: loginB },
    tenantId: tenantB.id,
    env: { WEBHOOKS_ALLOW_HTTP_LOOPBACK: 'true', TELEGRAM_BOT_TOKEN: B_BOT_TOKEN, ...smtp },
  });
  const B = await seedTenantB(b);
  const A = await seedTenantA(a);
  seeds = { a, A, B };
  forbidden = valuesOfB(B);
  tables = await tenantTables(admin);
  bRows = await tenantRows(admin, tables, B.tenantId);
  aRows = await tenantRows(admin, tables, a.tenantId);
});

afterAll(async () => {
  if (matrix.length > 0) {
    console.log(`Cross-tenant attempts: tenant A ${a?.tenantId} against tenant B ${b?.tenantId}`);
    console.table(matrix);
  }
  await b?.close();
  await a?.close();
  await admin?.end();
  await provisioned?.cleanup();
});

async function headersFor(side: 'A' | 'B', credential: Credential): Promise<Record<string, string>> {
  const { A, B } = seeds;
  const bGuestToken = { 'x-order-token': B.orders.guestPending.access_token as string };
  switch (credential) {
    case 'A owner token':
      return (side === 'A' ? a : b).staffHeaders('owner');
    case 'A buyer cookie':
      return { cookie: side === 'A' ? A.buyer.cookie : B.buyer.cookie };
    case 'A guest token':
      return side === 'A' ? { 'x-order-token': A.guestToken } : bGuestToken;
    case 'B guest token':
      return bGuestToken;
    case 'B buyer cookie':
      return { cookie: B.buyer.cookie };
    case 'none':
      return {};
  }
}

function send(dp: TestDataPlane, method: Method, request: Request, headers: Record<string, string>) {
  return dp.app.inject({
    method,
    url: request.url,
    headers: { ...headers, ...request.headers },
    ...(request.payload !== undefined ? { payload: request.payload } : {}),
  });
}

function responseProblems(
  method: Method,
  attempt: Attempt,
  response: LightMyRequestResponse,
  sent: string,
): string[] {
  const problems: string[] = [];
  const expected = attempt.expect ?? 404;
  if (response.statusCode !== expected) problems.push(`status ${response.statusCode}: ${response.body}`);
  if (expected >= 400 && !String(response.headers['content-type']).startsWith('application/problem+json')) {
    problems.push(`content-type ${response.headers['content-type']}`);
  }
  if (method !== 'HEAD' && response.body) {
    const body = response.json();
    if (expected === 404 && body.type !== '/problems/not-found') problems.push(`problem type ${body.type}`);
    if (attempt.field && !body.errors?.some((error: { field: string }) => error.field === attempt.field)) {
      problems.push(`no error names ${attempt.field}: ${response.body}`);
    }
    if (attempt.matches) {
      try {
        expect(body).toMatchObject(attempt.matches);
      } catch {
        problems.push(`body does not match ${JSON.stringify(attempt.matches)}: ${response.body}`);
      }
    }
  }
  const leaked = leakedValues(`${response.body}\n${JSON.stringify(response.headers)}`, sent, forbidden);
  if (leaked.length > 0) problems.push(`B's data in the response: ${leaked.join(', ')}`);
  return problems;
}

/** Sends one attempt to A and records its row; returns what went wrong (nothing, ideally). */
async function attack(phase: string, route: string, method: Method, attempt: Attempt): Promise<string[]> {
  const headers = await headersFor('A', attempt.as);
  const response = await send(a, method, attempt.request, headers);
  const sent = `${attempt.request.url}\n${JSON.stringify(attempt.request.payload ?? null)}\n${JSON.stringify({
    ...headers,
    ...attempt.request.headers,
  })}`;
  const problems = responseProblems(method, attempt, response, sent);

  const bAfter = await tenantRows(admin, tables, seeds.B.tenantId);
  const bChanges = rowChanges(bRows, bAfter);
  bRows = bAfter;
  if (bChanges.length > 0) problems.push(`B's rows changed: ${bChanges.join('; ')}`);
  const aAfter = await tenantRows(admin, tables, a.tenantId);
  const aChanges = rowChanges(aRows, aAfter);
  aRows = aAfter;
  if (aChanges.length > 0 && !attempt.writesA) problems.push(`A's rows changed: ${aChanges.join('; ')}`);

  const row: Row = {
    phase,
    route: `${method} ${route.slice(route.indexOf(' ') + 1)}`,
    with: attempt.with,
    as: attempt.as,
    expected: attempt.expect ?? 404,
    got: response.statusCode,
    'B rows': bChanges.length > 0 ? 'CHANGED' : 'unchanged',
    'A rows': aChanges.length > 0 ? (attempt.writesA ? 'written (expected)' : 'CHANGED') : 'unchanged',
    'control on B': attempt.control === false ? '—' : 'pending',
    result: problems.length > 0 ? `FAIL: ${problems.join(' | ')}` : 'ok',
  };
  matrix.push(row);
  if (attempt.control !== false) {
    controls.push({ row, method, request: attempt.request, as: attempt.as, control: attempt.control ?? {} });
  }
  return problems.map((problem) => `${method} ${attempt.request.url} (${attempt.with}): ${problem}`);
}

/** The app's routes under /api, without the HEAD twins fastify adds to GETs unless asked. */
function apiRoutes({ withHead = false } = {}) {
  return a.app.routeTable
    .filter((route) => route.url.startsWith('/api/') && (withHead || route.method !== 'HEAD'))
    .map((route) => ({
      method: route.method as Method,
      url: route.url,
      key: `${route.method} ${route.url}`,
    }));
}

const takesId = (url: string) => url.includes('/:');

describe('cross-tenant isolation on one shared database', () => {
  it('every route with a path parameter has a row in the attack table, and every row a route', () => {
    const routes = apiRoutes().filter((route) => takesId(route.url));
    expect(routes.length).toBeGreaterThan(25);
    expect(routes.map((route) => route.key).filter((key) => !(key in pathAttacks))).toEqual([]);
    expect(Object.keys(pathAttacks).filter((key) => !routes.some((route) => route.key === key))).toEqual([]);
  });

  it('every mutating route without one is attacked through its body or takes no record id', () => {
    const attacked = new Set(bodyAttacks(seeds).map((attempt) => attempt.route));
    const known = new Set(apiRoutes().map((route) => route.key));
    expect([...attacked, ...Object.keys(takesNoRecordId)].filter((key) => !known.has(key))).toEqual([]);
    const unclassified = apiRoutes()
      .filter((route) => route.method !== 'GET' && !takesId(route.url))
      .map((route) => route.key)
      .filter((key) => !attacked.has(key) && !(key in takesNoRecordId));
    expect(unclassified).toEqual([]);
  });

  it("A's listings show none of B's rows", async () => {
    const failures: string[] = [];
    for (const route of apiRoutes().filter((r) => r.method === 'GET' && !takesId(r.url))) {
      const as: Credential = route.url.startsWith('/api/admin') ? 'A owner token' : 'A buyer cookie';
      failures.push(
        ...(await attack('listing', route.key, 'GET', {
          with: '—',
          as,
          request: { url: route.url },
          expect: 200,
          control: false,
        })),
      );
    }
    expect(failures).toEqual([]);
  });

  it("B's ids in the path of every id-taking route of A's: 404, nothing of B's shown or changed", async () => {
    const failures: string[] = [];
    for (const route of apiRoutes({ withHead: true }).filter((r) => takesId(r.url))) {
      const fill = pathAttacks[route.method === 'HEAD' ? `GET ${route.url}` : route.key];
      for (const attempt of fill?.(seeds) ?? []) {
        failures.push(...(await attack('path id', route.key, route.method, attempt)));
      }
    }
    expect(failures).toEqual([]);
  });

  it("B's ids in bodies, queries and credentials: refused, or kept to A's own rows", async () => {
    const failures: string[] = [];
    for (const attempt of bodyAttacks(seeds)) {
      const method = attempt.route.slice(0, attempt.route.indexOf(' ')) as Method;
      failures.push(...(await attack('body/query', attempt.route, method, attempt)));
    }
    expect(failures).toEqual([]);
  });

  it("controls: the same requests with B's own credentials succeed on B, and leave A alone", async () => {
    const failures: string[] = [];
    const aBefore = await tenantRows(admin, tables, a.tenantId);
    // Reads first, while B is still as seeded (a control's rename would spoil a search's).
    const order = ({ method, control }: (typeof controls)[number]) =>
      method === 'GET' || method === 'HEAD' ? -1 : (control.rank ?? 0);
    const ordered = [...controls].sort((x, y) => order(x) - order(y));
    for (const { row, method, request, as, control } of ordered) {
      const used = control.request ?? request;
      const response = await send(b, method, used, await headersFor('B', as));
      row['control on B'] = response.statusCode;
      const problems: string[] = [];
      const ok = control.expect
        ? response.statusCode === control.expect
        : response.statusCode >= 200 && response.statusCode < 300;
      if (!ok) problems.push(`control got ${response.statusCode}: ${response.body}`);
      if (control.contains && !response.body.includes(control.contains)) {
        problems.push(`control response lacks ${control.contains}`);
      }
      if (problems.length > 0) {
        row.result =
          row.result === 'ok' ? `FAIL: ${problems.join(' | ')}` : `${row.result} | ${problems.join(' | ')}`;
        failures.push(`${method} ${used.url} on B (${row.with}): ${problems.join(' | ')}`);
      }
    }
    expect(controls.length).toBeGreaterThan(40);
    expect(rowChanges(aBefore, await tenantRows(admin, tables, a.tenantId))).toEqual([]);
    expect(failures).toEqual([]);
  });
});
