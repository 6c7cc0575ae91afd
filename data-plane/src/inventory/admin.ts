import { problem } from '@amanat/kit/http/problem';
import { and, desc, eq } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import { stockMovements, variants } from '../catalog/schema.ts';
import { thenCatalogChanged } from '../catalog/service.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import { getSettings } from '../settings/service.ts';
import { adjustStock, type StockChange, setLowStockThreshold, stockOf } from './service.ts';

const RECENT_MOVEMENTS = 50;

async function findVariant(db: Queryable, tenantId: string, variantId: string) {
  const [variant] = await db
    .select({ id: variants.id, sku: variants.sku, productId: variants.productId })
    .from(variants)
    .where(and(eq(variants.tenantId, tenantId), eq(variants.id, variantId)));
  if (!variant) throw problem.notFound(`No variant ${variantId} in this shop.`);
  return variant;
}

async function stockView(db: Queryable, tenantId: string, variantId: string) {
  const variant = await findVariant(db, tenantId, variantId);
  const level = (await stockOf(db, tenantId, [variant.id])).get(variant.id);
  const movements = await db
    .select()
    .from(stockMovements)
    .where(and(eq(stockMovements.tenantId, tenantId), eq(stockMovements.variantId, variant.id)))
    .orderBy(desc(stockMovements.createdAt), desc(stockMovements.id))
    .limit(RECENT_MOVEMENTS);
  const shopThreshold = (await getSettings(db, tenantId)).lowStockThreshold;
  return {
    variant_id: variant.id,
    sku: variant.sku,
    product_id: variant.productId,
    on_hand: level?.onHand ?? 0,
    reserved: level?.reserved ?? 0,
    available: level?.available ?? 0,
    low_stock_threshold: level?.lowStockThreshold ?? null,
    effective_low_stock_threshold: level?.lowStockThreshold ?? shopThreshold,
    movements: movements.map((movement) => ({
      id: movement.id,
      reason: movement.reason,
      on_hand_delta: movement.onHandDelta,
      reserved_delta: movement.reservedDelta,
      order_id: movement.orderId,
      note: movement.note,
      actor_type: movement.actorType,
      actor_id: movement.actorId,
      created_at: movement.createdAt.toISOString(),
    })),
  };
}

export async function variantStock(ctx: ServiceContext, variantId: string) {
  return stockView(ctx.db, ctx.tenantId, variantId);
}

/**
 * A staff stock adjustment: adjustStock records the movement (who, why, note) and emits
 * stock.low on crossing the threshold; this writes the audit row. A change to the value
 * stock already has writes nothing.
 */
export async function adjustVariantStock(
  ctx: ServiceContext,
  actor: Actor,
  variantId: string,
  change: StockChange,
  reason: 'restock' | 'adjustment',
  note: string | null,
) {
  return thenCatalogChanged(
    ctx.db.transaction(async (tx) => {
      await findVariant(tx, ctx.tenantId, variantId);
      const { delta, before, level } = await adjustStock(
        tx,
        ctx.tenantId,
        actor,
        variantId,
        change,
        reason,
        note,
      );
      if (delta !== 0) {
        await recordAudit(tx, ctx.tenantId, actor, {
          action: 'stock.adjusted',
          targetType: 'variant',
          targetId: variantId,
          before: { on_hand: before.onHand, reserved: before.reserved },
          after: { on_hand: level.onHand, reserved: level.reserved, delta, reason, note },
        });
      }
      return stockView(tx, ctx.tenantId, variantId);
    }),
  );
}

export async function setVariantThreshold(
  ctx: ServiceContext,
  actor: Actor,
  variantId: string,
  threshold: number | null,
) {
  return ctx.db.transaction(async (tx) => {
    await findVariant(tx, ctx.tenantId, variantId);
    const before = (await stockOf(tx, ctx.tenantId, [variantId])).get(variantId);
    await setLowStockThreshold(tx, ctx.tenantId, variantId, threshold);
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'stock.threshold_set',
      targetType: 'variant',
      targetId: variantId,
      before: { low_stock_threshold: before?.lowStockThreshold ?? null },
      after: { low_stock_threshold: threshold },
    });
    return stockView(tx, ctx.tenantId, variantId);
  });
}
