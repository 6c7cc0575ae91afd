import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type FieldError, problem } from '@amanat/kit/http/problem';
import { and, eq, sql } from 'drizzle-orm';
import { type Actor, auditInsert } from '../audit/record.ts';
import { buyerAddresses } from '../buyers/schema.ts';
import type { CurrentBuyer } from '../buyers/session.ts';
import { priceLines } from '../catalog/pricing.ts';
import { catalogChanged } from '../catalog/queries.ts';
import type { ServiceContext } from '../context.ts';
import type { Tx } from '../db/client.ts';
import { orderConfirmationInsert } from '../email/service.ts';
import { eventInsert } from '../events/emit.ts';
import { reservationCtes, reservationLines, reserveStock } from '../inventory/service.ts';
import { orderLines, orders, type ShippingAddress } from '../orders/schema.ts';
import {
  type OrderLineRow,
  type OrderRow,
  orderAuditView,
  orderEventPayload,
  transitionInsert,
} from '../orders/service.ts';
import { requireTransition } from '../orders/state-machine.ts';
import { storefrontOrderView } from '../orders/views.ts';
import { payments } from '../payments/schema.ts';
import { unprocessable } from '../payments/service.ts';
import { railDisclosures } from '../settings/rails.ts';
import { type PaymentPolicy, type PaymentRail, shopSettings } from '../settings/schema.ts';
import { idempotencyKeys } from './schema.ts';

/** Rails a buyer can check out with today; external_provider joins when its adapter does. */
export const checkoutRails: readonly PaymentRail[] = ['amn_escrow', 'amn_direct', 'manual_invoice'];

export interface CheckoutBody {
  lines: { variant_id: string; quantity: number }[];
  email?: string | undefined;
  rail?: PaymentRail | undefined;
  shipping_address?: ShippingAddress | undefined;
  address_id?: string | undefined;
  note?: string | undefined;
}

export interface CheckoutRequest {
  buyer: CurrentBuyer | null;
  idempotencyKey: string;
  body: CheckoutBody;
  requestId: string;
}

export type CheckoutResponseBody = ReturnType<typeof storefrontOrderView> & { access_token?: string };

export interface CheckoutResult {
  body: CheckoutResponseBody;
  /** True when this is a retry answered from the idempotency record. */
  replayed: boolean;
}

const SCOPE = 'checkout';

/** Sorted keys, so one request always has one fingerprint. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, item]) => [key, canonical(item)]),
    );
  }
  return value;
}

export function checkoutFingerprint(body: CheckoutBody, buyerId: string | null): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical({ body, buyer: buyerId })))
    .digest('hex');
}

export const hashOrderToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Input rules the schema cannot express; checked before anything touches the database. */
function checkShape(request: CheckoutRequest): void {
  const { body, buyer } = request;
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  body.lines.forEach((line, index) => {
    const id = line.variant_id.toLowerCase();
    const first = seen.get(id);
    if (first !== undefined) {
      errors.push({
        field: `body.lines.${index}.variant_id`,
        message: `repeats line ${first}; raise its quantity instead`,
      });
    } else seen.set(id, index);
  });
  if (!buyer?.email && !body.email) {
    errors.push({
      field: 'body.email',
      // A buyer who signed in through Telegram has no email on the account.
      message: buyer ? 'is required: your account has no email' : 'is required for a guest checkout',
    });
  }
  if (buyer?.email && body.email && body.email.toLowerCase() !== buyer.email.toLowerCase()) {
    errors.push({
      field: 'body.email',
      message: "must be your account's email (or left out) when signed in",
    });
  }
  if (body.address_id && !buyer) {
    errors.push({ field: 'body.address_id', message: 'saved addresses need a signed-in buyer' });
  }
  if (body.address_id && body.shipping_address) {
    errors.push({
      field: 'body.address_id',
      message: 'send either address_id or shipping_address, not both',
    });
  }
  if (errors.length > 0) {
    throw problem.validation(errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
  }
}

/** Every category of the cart with all its ancestors (the category tree). */
async function cartCategoryTree(tx: Tx, tenantId: string, categoryIds: string[]): Promise<Set<string>> {
  if (categoryIds.length === 0) return new Set();
  const result = await tx.execute<{ id: string }>(sql`
    WITH RECURSIVE up AS (
      SELECT id, parent_id FROM categories
       WHERE tenant_id = ${tenantId} AND id = ANY(${`{${categoryIds.join(',')}}`}::uuid[])
      UNION
      SELECT c.id, c.parent_id FROM categories c JOIN up ON c.tenant_id = ${tenantId} AND c.id = up.parent_id
    )
    SELECT id FROM up`);
  return new Set(result.rows.map((row) => row.id));
}

async function savedAddress(
  tx: Tx,
  tenantId: string,
  buyerId: string,
  addressId: string,
): Promise<ShippingAddress> {
  const [row] = await tx
    .select()
    .from(buyerAddresses)
    .where(
      and(
        eq(buyerAddresses.tenantId, tenantId),
        eq(buyerAddresses.buyerId, buyerId),
        eq(buyerAddresses.id, addressId),
      ),
    );
  if (!row) {
    throw problem.validation('body.address_id is not one of your saved addresses', [
      { field: 'body.address_id', message: 'is not one of your saved addresses' },
    ]);
  }
  return {
    recipient_name: row.recipientName,
    line1: row.line1,
    line2: row.line2,
    city: row.city,
    region: row.region,
    postal_code: row.postalCode,
    country: row.country,
    phone: row.phone,
  };
}

/**
 * Places an order. In one transaction: claims the idempotency key (a concurrent request with
 * the same key waits for this one, then answers from its record), prices every line from the
 * catalog, enforces the shop's payment policy, creates the order, its lines and payment
 * record, moves it draft → pending_payment, reserves the stock, and writes the outbox event
 * and the audit row. Any refusal rolls back everything, the key included.
 */
export async function checkout(
  ctx: ServiceContext,
  request: CheckoutRequest,
  now = new Date(),
): Promise<CheckoutResult> {
  checkShape(request);
  const { body, buyer } = request;
  const fingerprint = checkoutFingerprint(body, buyer?.id ?? null);
  const sealingContext = `${ctx.tenantId}:${SCOPE}:${request.idempotencyKey}`;

  const result = await ctx.db.transaction(async (tx) => {
    // The claim and the shop's payment policy in one round trip: on a machine whose cores the
    // database shares, each round trip costs more than the work in it (docs/benchmarks.md).
    //
    // The same statement has this transaction plan its foreign-key checks afresh. PostgreSQL
    // otherwise keeps each connection's first plan for them; on a young shop that plan was
    // made while `orders` filled a page or two, so it scans the whole table, and it keeps
    // doing so for every order line, payment and transition until autovacuum's next analyse
    // happens to replace it: checkout fell from ~650 to ~375 orders/s within thirty seconds
    // of a fresh shop's first order. Planning the checks costs microseconds. It is set here,
    // not for the whole connection, because the storefront's item page relies on a cached
    // plan of its named statement (three times the throughput).
    const claim = tx
      .insert(idempotencyKeys)
      .values({ tenantId: ctx.tenantId, scope: SCOPE, key: request.idempotencyKey, fingerprint })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    const {
      rows: [claimed],
    } = await tx.execute<{ claimed: boolean; payment_policy: PaymentPolicy | null }>(sql`
      WITH claim AS (${claim.getSQL()})
      SELECT EXISTS (SELECT 1 FROM claim) AS claimed,
             set_config('plan_cache_mode', 'force_custom_plan', true) AS plan_cache_mode,
             (SELECT ${shopSettings.paymentPolicy} FROM ${shopSettings}
               WHERE ${shopSettings.tenantId} = ${ctx.tenantId}) AS payment_policy`);
    if (!claimed?.claimed) {
      const [existing] = await tx
        .select()
        .from(idempotencyKeys)
        .where(
          and(
            eq(idempotencyKeys.tenantId, ctx.tenantId),
            eq(idempotencyKeys.scope, SCOPE),
            eq(idempotencyKeys.key, request.idempotencyKey),
          ),
        );
      if (!existing?.responseBody) {
        throw problem.conflict(
          'idempotency-in-flight',
          'A request with this Idempotency-Key is still being processed; retry shortly.',
        );
      }
      if (existing.fingerprint !== fingerprint) {
        throw unprocessable(
          'idempotency-key-reused',
          'This Idempotency-Key was already used for a different checkout; use a new key for a new order.',
          [{ field: 'headers.idempotency-key', message: 'was already used for a different request' }],
        );
      }
      const replay = existing.responseBody as CheckoutResponseBody;
      return {
        replayed: true,
        body: existing.sealedSecret
          ? { ...replay, access_token: ctx.config.keyring.open(existing.sealedSecret, sealingContext) }
          : replay,
      };
    }

    const policy = claimed.payment_policy;
    if (!policy)
      throw new Error(`settings for tenant ${ctx.tenantId} are missing; ensureSettings runs at start`);
    const priced = await priceLines(
      tx,
      ctx.tenantId,
      body.lines.map((line) => ({ variantId: line.variant_id, quantity: line.quantity })),
    );
    const currencies = [...new Set(priced.map((line) => line.currency))];
    if (currencies.length !== 1) {
      throw unprocessable(
        'mixed-currencies',
        `The cart mixes currencies (${currencies.join(', ')}); check out each separately.`,
        [{ field: 'body.lines', message: 'must all be priced in one currency' }],
      );
    }
    const currency = currencies[0] as string;
    const subtotal = priced.reduce((sum, line) => sum + line.lineTotalMinor, 0);
    if (!Number.isSafeInteger(subtotal)) {
      throw unprocessable('total-too-large', 'The order total is too large.', [
        { field: 'body.lines', message: 'total is too large' },
      ]);
    }

    const escrowReasons: string[] = [];
    if (policy.escrow_required_above_minor !== null && subtotal >= policy.escrow_required_above_minor) {
      escrowReasons.push(
        `orders of ${policy.escrow_required_above_minor} ${currency} (minor units) or more must use escrow`,
      );
    }
    if (policy.escrow_required_category_ids.length > 0) {
      const tree = await cartCategoryTree(tx, ctx.tenantId, [
        ...new Set(priced.flatMap((line) => (line.categoryId ? [line.categoryId] : []))),
      ]);
      if (policy.escrow_required_category_ids.some((id) => tree.has(id))) {
        escrowReasons.push('the cart holds items from a category that must be bought with escrow');
      }
    }
    const escrowRequired = escrowReasons.length > 0;
    const rail: PaymentRail =
      body.rail ??
      (escrowRequired && policy.allowed_rails.includes('amn_escrow') ? 'amn_escrow' : policy.default_rail);
    if (!policy.allowed_rails.includes(rail) || !checkoutRails.includes(rail)) {
      const offered = policy.allowed_rails.filter((r) => checkoutRails.includes(r));
      throw unprocessable(
        'rail-not-allowed',
        `This shop does not take ${rail} payments; it takes ${offered.join(', ')}.`,
        [{ field: 'body.rail', message: `must be one of ${offered.join(', ')}` }],
      );
    }
    if (escrowRequired && rail !== 'amn_escrow') {
      throw unprocessable(
        'escrow-required',
        `This order must be paid with amn_escrow: ${escrowReasons.join('; ')}.`,
        [{ field: 'body.rail', message: 'must be amn_escrow for this order' }],
      );
    }

    const shippingAddress =
      body.address_id && buyer
        ? await savedAddress(tx, ctx.tenantId, buyer.id, body.address_id.toLowerCase())
        : (body.shipping_address ?? null);
    const orderId = randomUUID();
    const accessToken = buyer ? null : randomBytes(32).toString('base64url');
    const actor: Actor = buyer
      ? { type: 'buyer', id: buyer.id, role: null, requestId: request.requestId }
      : { type: 'guest', id: null, role: null, requestId: request.requestId };

    // Order, lines, payment, the draft → pending_payment transition, the outbox event, the
    // audit row, the queued confirmation email and the idempotency record go to the database
    // as one statement (one round trip instead of nine); the rows are built here, so nothing
    // needs to be read back.
    const status = requireTransition('draft', 'submit', rail);
    const submittedAt = new Date();
    const order: OrderRow = {
      id: orderId,
      tenantId: ctx.tenantId,
      status,
      rail,
      railDisclosure: railDisclosures[rail],
      currency,
      subtotalMinor: subtotal,
      totalMinor: subtotal,
      itemCount: priced.reduce((sum, line) => sum + line.quantity, 0),
      buyerId: buyer?.id ?? null,
      email: (buyer?.email ?? body.email ?? '').toLowerCase(),
      shippingAddress,
      note: body.note ?? null,
      accessTokenHash: accessToken ? hashOrderToken(accessToken) : null,
      expiresAt: new Date(now.getTime() + ctx.config.PAYMENT_WINDOW_SECONDS * 1000),
      carrier: null,
      trackingNumber: null,
      digitalDelivery: null,
      createdAt: now,
      updatedAt: submittedAt,
    };
    const lines: OrderLineRow[] = priced.map((line, position) => ({
      id: randomUUID(),
      tenantId: ctx.tenantId,
      orderId,
      position,
      variantId: line.variantId,
      productId: line.productId,
      categoryId: line.categoryId,
      sku: line.sku,
      title: line.title,
      options: line.options,
      unitPriceMinor: line.unitPriceMinor,
      quantity: line.quantity,
      lineTotalMinor: line.lineTotalMinor,
    }));
    const view = storefrontOrderView(ctx, order, lines, [], now);
    const confirmation = orderConfirmationInsert(tx, ctx, order, accessToken);
    const writes = [
      tx.insert(orders).values(order),
      tx.insert(orderLines).values(lines),
      tx.insert(payments).values({ tenantId: ctx.tenantId, orderId, rail, amountMinor: subtotal, currency }),
      transitionInsert(tx, { ...order, status: 'draft' }, 'submit', status, actor, null, submittedAt),
      eventInsert(tx, ctx.tenantId, {
        type: 'order.created',
        aggregateType: 'order',
        aggregateId: orderId,
        payload: orderEventPayload(order, { item_count: order.itemCount, guest: buyer === null }),
      }),
      auditInsert(tx, ctx.tenantId, actor, {
        action: 'order.created',
        targetType: 'order',
        targetId: orderId,
        after: { ...orderAuditView(order), lines: lines.length, guest: buyer === null },
      }),
      ...(confirmation ? [confirmation] : []),
      tx
        .update(idempotencyKeys)
        .set({
          orderId,
          responseStatus: 201,
          responseBody: view,
          sealedSecret: accessToken ? ctx.config.keyring.seal(accessToken, sealingContext) : null,
        })
        .where(
          and(
            eq(idempotencyKeys.tenantId, ctx.tenantId),
            eq(idempotencyKeys.scope, SCOPE),
            eq(idempotencyKeys.key, request.idempotencyKey),
          ),
        ),
    ];
    const reservation = reservationLines(
      priced.map((line) => ({ variantId: line.variantId, quantity: line.quantity })),
    );
    const single = reservation.length === 1 ? reservation[0] : undefined;
    // A one-variant cart locks one stock row, so its reservation joins the same statement
    // (placed last; the row stays locked only until commit). Larger carts reserve line by
    // line in variant order, so overlapping carts cannot deadlock.
    const written = await tx.execute<{ reserved: number }>(
      sql`WITH ${sql.join(
        writes.map((write, index) => sql`${sql.raw(`w${index}`)} AS (${write.getSQL()})`),
        sql`, `,
      )}${single ? sql`, ${reservationCtes(ctx.tenantId, actor, orderId, single)} SELECT count(*)::int AS reserved FROM changed` : sql` SELECT 1 AS reserved`}`,
    );
    if (single) {
      catalogChanged();
      if (written.rows[0]?.reserved !== 1) {
        throw problem.conflict('out-of-stock', `Not enough stock for variant ${single.variantId}.`, {
          variant_id: single.variantId,
        });
      }
    } else {
      await reserveStock(tx, ctx.tenantId, actor, orderId, reservation);
    }
    return { replayed: false, body: accessToken ? { ...view, access_token: accessToken } : view };
  });
  // The reservation changed available stock: storefront responses cached since are dropped.
  if (!result.replayed) catalogChanged();
  return result;
}
