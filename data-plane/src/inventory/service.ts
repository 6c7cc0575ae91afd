import { problem } from '@amanat/kit/http/problem';
import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../audit/record.ts';
import { catalogChanged } from '../catalog/queries.ts';
import { stockLevels, stockMovements } from '../catalog/schema.ts';
import type { Queryable } from '../db/client.ts';
import { emitEvent } from '../events/emit.ts';
import { outboxEvents } from '../events/schema.ts';

export interface StockLine {
  variantId: string;
  quantity: number;
}

export interface StockLevel {
  variantId: string;
  onHand: number;
  reserved: number;
  /** on_hand - reserved: what can still be sold. */
  available: number;
  /** The variant's own threshold; null = the shop's default applies. */
  lowStockThreshold: number | null;
}

type MovementReason = (typeof stockMovements.$inferInsert)['reason'];

interface ChangedLevel {
  on_hand: number;
  reserved: number;
  threshold: number;
}

/**
 * Merges lines for the same variant and sorts them by variant id: every transaction takes
 * row locks in the same order, so overlapping carts wait for each other instead of deadlocking.
 */
function lockOrder(lines: readonly StockLine[]): StockLine[] {
  const merged = new Map<string, number>();
  for (const line of lines) {
    if (!Number.isInteger(line.quantity) || line.quantity <= 0) {
      throw new Error(`stock quantity must be a positive integer, got ${line.quantity}`);
    }
    const id = line.variantId.toLowerCase();
    merged.set(id, (merged.get(id) ?? 0) + line.quantity);
  }
  return [...merged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([variantId, quantity]) => ({ variantId, quantity }));
}

/** The threshold that applies: the variant's own, else the shop's default. */
const effectiveThreshold = (tenantId: string) =>
  sql`COALESCE(${stockLevels.lowStockThreshold}, (SELECT low_stock_threshold FROM shop_settings WHERE tenant_id = ${tenantId}), 0)`;

/**
 * Applies one change to a stock row (guarded by `condition`, evaluated on the locked row),
 * returning the new level or null when the row is missing or the guard fails.
 */
async function changeLevel(
  db: Queryable,
  tenantId: string,
  variantId: string,
  onHandDelta: number,
  reservedDelta: number,
  condition = sql`true`,
): Promise<ChangedLevel | null> {
  const result = await db.execute<{ on_hand: number; reserved: number; threshold: number }>(sql`
    UPDATE ${stockLevels}
       SET on_hand = on_hand + ${onHandDelta}, reserved = reserved + ${reservedDelta}, updated_at = now()
     WHERE ${stockLevels.tenantId} = ${tenantId} AND ${stockLevels.variantId} = ${variantId} AND ${condition}
     RETURNING on_hand, reserved, ${effectiveThreshold(tenantId)} AS threshold`);
  // Storefront responses show stock: drop the cached ones now (a read until commit still sees
  // the old level and may be cached for at most STOREFRONT_TTL_MS; callers that can clear
  // again after commit do).
  catalogChanged();
  return result.rows[0] ?? null;
}

async function recordMovement(
  db: Queryable,
  tenantId: string,
  actor: Actor,
  movement: {
    variantId: string;
    reason: MovementReason;
    onHandDelta?: number;
    reservedDelta?: number;
    orderId?: string | null;
    note?: string | null;
  },
): Promise<void> {
  await db.insert(stockMovements).values({
    tenantId,
    variantId: movement.variantId,
    reason: movement.reason,
    onHandDelta: movement.onHandDelta ?? 0,
    reservedDelta: movement.reservedDelta ?? 0,
    orderId: movement.orderId ?? null,
    note: movement.note ?? null,
    actorType: actor.type,
    actorId: actor.id,
  });
}

/** Emits stock.low when available stock goes from above the threshold to at or below it. */
async function emitIfCrossedLow(
  db: Queryable,
  tenantId: string,
  variantId: string,
  availableBefore: number,
  after: ChangedLevel,
): Promise<void> {
  const availableAfter = after.on_hand - after.reserved;
  if (availableBefore > after.threshold && availableAfter <= after.threshold) {
    await emitEvent(db, tenantId, {
      type: 'stock.low',
      aggregateType: 'variant',
      aggregateId: variantId,
      payload: { variant_id: variantId, available: availableAfter, threshold: after.threshold },
    });
  }
}

/**
 * The CTEs reserving one line (`changed`, `movement`, `low`), for `WITH ... SELECT ... FROM changed`:
 * the guarded update, its movement and — when available stock crosses the low-stock
 * threshold — the stock.low event, as changeLevel, recordMovement and emitIfCrossedLow write
 * them. `changed` holds the new level, or no row when there is not enough stock.
 */
export function reservationCtes(tenantId: string, actor: Actor, orderId: string, line: StockLine): SQL {
  return sql`changed AS (
        UPDATE ${stockLevels}
           SET reserved = reserved + ${line.quantity}, updated_at = now()
         WHERE ${stockLevels.tenantId} = ${tenantId} AND ${stockLevels.variantId} = ${line.variantId}
           AND on_hand - reserved >= ${line.quantity}
        RETURNING on_hand, reserved, ${effectiveThreshold(tenantId)} AS threshold
      ), movement AS (
        INSERT INTO ${stockMovements} (tenant_id, variant_id, reason, on_hand_delta, reserved_delta, order_id, note, actor_type, actor_id)
        SELECT ${tenantId}::uuid, ${line.variantId}::uuid, 'order_reserved', 0, ${line.quantity}::integer,
               ${orderId}::uuid, NULL, ${actor.type}::text, ${actor.id}::text
          FROM changed
      ), low AS (
        INSERT INTO ${outboxEvents} (tenant_id, type, aggregate_type, aggregate_id, payload)
        SELECT ${tenantId}::uuid, 'stock.low', 'variant', ${line.variantId}::text,
               jsonb_build_object('variant_id', ${line.variantId}::text, 'available', on_hand - reserved, 'threshold', threshold)
          FROM changed
         WHERE on_hand - reserved + ${line.quantity}::integer > threshold AND on_hand - reserved <= threshold
      )`;
}

/** Merged, sorted reservation lines (see lockOrder). */
export const reservationLines = (lines: readonly StockLine[]): StockLine[] => lockOrder(lines);

/**
 * Reserves stock for an order's lines, all or nothing: call it inside the order's
 * transaction. Each row is updated only if enough is available, so under any concurrency
 * stock never goes negative (the table's CHECK backs this up). A line that cannot be
 * reserved throws a 409 `out-of-stock` naming the variant; the caller's transaction rolls back.
 */
export async function reserveStock(
  tx: Queryable,
  tenantId: string,
  actor: Actor,
  orderId: string,
  lines: readonly StockLine[],
): Promise<void> {
  for (const line of lockOrder(lines)) {
    // One round trip per line.
    const result = await tx.execute(
      sql`WITH ${reservationCtes(tenantId, actor, orderId, line)} SELECT 1 FROM changed`,
    );
    catalogChanged();
    if (!result.rows[0]) {
      throw problem.conflict('out-of-stock', `Not enough stock for variant ${line.variantId}.`, {
        variant_id: line.variantId,
      });
    }
  }
}

/**
 * Applies one order's stock change to each of its lines, in lock order, with a movement per
 * line. `reserved` changes only where the order holds that much reserved stock; a shortfall
 * means the order's bookkeeping is broken, which is a bug, not a client error.
 */
async function applyOrderStockChange(
  tx: Queryable,
  tenantId: string,
  actor: Actor,
  orderId: string,
  lines: readonly StockLine[],
  change: { reason: MovementReason; onHand: -1 | 0 | 1; reserved: -1 | 0 },
): Promise<void> {
  for (const line of lockOrder(lines)) {
    const onHandDelta = change.onHand * line.quantity;
    const reservedDelta = change.reserved * line.quantity;
    const guard = reservedDelta < 0 ? sql`reserved >= ${line.quantity}` : undefined;
    const after = await changeLevel(tx, tenantId, line.variantId, onHandDelta, reservedDelta, guard);
    if (!after)
      throw new Error(`variant ${line.variantId} cannot take ${change.reason} for order ${orderId}`);
    await recordMovement(tx, tenantId, actor, {
      variantId: line.variantId,
      reason: change.reason,
      ...(onHandDelta ? { onHandDelta } : {}),
      ...(reservedDelta ? { reservedDelta } : {}),
      orderId,
    });
  }
}

/** Gives an unpaid order's reservation back (payment window expired, order cancelled). */
export function releaseReservation(
  tx: Queryable,
  tenantId: string,
  actor: Actor,
  orderId: string,
  lines: readonly StockLine[],
) {
  return applyOrderStockChange(tx, tenantId, actor, orderId, lines, {
    reason: 'order_released',
    onHand: 0,
    reserved: -1,
  });
}

/** The goods leave: a paid order's reservation becomes a decrease of on-hand stock. */
export function commitReservation(
  tx: Queryable,
  tenantId: string,
  actor: Actor,
  orderId: string,
  lines: readonly StockLine[],
) {
  return applyOrderStockChange(tx, tenantId, actor, orderId, lines, {
    reason: 'order_fulfilled',
    onHand: -1,
    reserved: -1,
  });
}

/** Puts a committed order's goods back on hand (e.g. returned after a refund). */
export function restockOrder(
  tx: Queryable,
  tenantId: string,
  actor: Actor,
  orderId: string,
  lines: readonly StockLine[],
) {
  return applyOrderStockChange(tx, tenantId, actor, orderId, lines, {
    reason: 'restock',
    onHand: 1,
    reserved: 0,
  });
}

export type StockChange = { delta: number } | { set: number };

/**
 * A manual or imported change to on-hand stock, recorded as a movement with who and why.
 * Creates the variant's stock row on first use; 404 when the variant is not this tenant's.
 * Refuses (409) to go below what is reserved or below zero. Returns the new level and the
 * applied delta; a zero delta records no movement. The caller writes the audit row.
 */
export async function adjustStock(
  tx: Queryable,
  tenantId: string,
  actor: Actor,
  variantId: string,
  change: StockChange,
  reason: 'restock' | 'adjustment' | 'import',
  note: string | null = null,
): Promise<{ level: StockLevel; delta: number; before: StockLevel }> {
  await tx.execute(sql`
    INSERT INTO stock_levels (tenant_id, variant_id)
    SELECT tenant_id, id FROM variants WHERE tenant_id = ${tenantId} AND id = ${variantId}
    ON CONFLICT DO NOTHING`);
  const [current] = await tx
    .select()
    .from(stockLevels)
    .where(and(eq(stockLevels.tenantId, tenantId), eq(stockLevels.variantId, variantId)))
    .for('update');
  if (!current) throw problem.notFound(`No variant ${variantId} in this shop.`);
  const before = toLevel(current);
  const delta = 'set' in change ? change.set - current.onHand : change.delta;
  if (delta === 0) return { level: before, delta: 0, before };
  const target = current.onHand + delta;
  if (target < 0) {
    throw problem.conflict(
      'stock-below-zero',
      `On-hand stock of variant ${variantId} is ${current.onHand}; it cannot drop by ${-delta}.`,
      { variant_id: variantId, on_hand: current.onHand },
    );
  }
  if (target < current.reserved) {
    throw problem.conflict(
      'stock-below-reserved',
      `On-hand stock of variant ${variantId} cannot go to ${target}: ${current.reserved} are reserved by orders.`,
      { variant_id: variantId, reserved: current.reserved },
    );
  }
  const after = await changeLevel(tx, tenantId, variantId, delta, 0);
  if (!after) throw new Error('locked stock row vanished');
  await recordMovement(tx, tenantId, actor, { variantId, reason, onHandDelta: delta, note });
  await emitIfCrossedLow(tx, tenantId, variantId, before.available, after);
  return {
    level: {
      ...before,
      onHand: after.on_hand,
      reserved: after.reserved,
      available: after.on_hand - after.reserved,
    },
    delta,
    before,
  };
}

/** Sets (or with null, clears back to the shop default) a variant's low-stock threshold. */
export async function setLowStockThreshold(
  tx: Queryable,
  tenantId: string,
  variantId: string,
  threshold: number | null,
): Promise<StockLevel> {
  await tx.execute(sql`
    INSERT INTO stock_levels (tenant_id, variant_id)
    SELECT tenant_id, id FROM variants WHERE tenant_id = ${tenantId} AND id = ${variantId}
    ON CONFLICT DO NOTHING`);
  const [row] = await tx
    .update(stockLevels)
    .set({ lowStockThreshold: threshold, updatedAt: new Date() })
    .where(and(eq(stockLevels.tenantId, tenantId), eq(stockLevels.variantId, variantId)))
    .returning();
  if (!row) throw problem.notFound(`No variant ${variantId} in this shop.`);
  return toLevel(row);
}

/** Current levels for the given variants; a variant with no stock row reads as zero stock. */
export async function stockOf(
  db: Queryable,
  tenantId: string,
  variantIds: readonly string[],
): Promise<Map<string, StockLevel>> {
  const levels = new Map<string, StockLevel>();
  if (variantIds.length === 0) return levels;
  const rows = await db
    .select()
    .from(stockLevels)
    .where(and(eq(stockLevels.tenantId, tenantId), inArray(stockLevels.variantId, [...variantIds])));
  for (const id of variantIds) {
    levels.set(id, { variantId: id, onHand: 0, reserved: 0, available: 0, lowStockThreshold: null });
  }
  for (const row of rows) levels.set(row.variantId, toLevel(row));
  return levels;
}

function toLevel(row: typeof stockLevels.$inferSelect): StockLevel {
  return {
    variantId: row.variantId,
    onHand: row.onHand,
    reserved: row.reserved,
    available: row.onHand - row.reserved,
    lowStockThreshold: row.lowStockThreshold,
  };
}
