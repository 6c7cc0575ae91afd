import { problem } from '@amanat/kit/http/problem';
import { errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { adjustVariantStock, setVariantThreshold, variantStock } from './admin.ts';

const Params = Strict({ variantId: Uuid });
const StockQuantity = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

const StockView = Strict({
  variant_id: Uuid,
  sku: Type.String(),
  product_id: Uuid,
  on_hand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer(),
  /** The variant's own threshold; null = the shop's default applies. */
  low_stock_threshold: Type.Union([Type.Integer(), Type.Null()]),
  /** The threshold in force: the variant's own or the shop's default. */
  effective_low_stock_threshold: Type.Integer(),
  movements: Type.Array(
    Strict({
      id: Uuid,
      reason: Type.String(),
      on_hand_delta: Type.Integer(),
      reserved_delta: Type.Integer(),
      order_id: Type.Union([Uuid, Type.Null()]),
      note: Type.Union([Type.String(), Type.Null()]),
      actor_type: Type.String(),
      actor_id: Type.Union([Type.String(), Type.Null()]),
      created_at: Timestamp,
    }),
  ),
});

/** Stock admin: read a variant's level and history, adjust it, set its low-stock threshold. */
export async function inventoryRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  const canAdjust = requirePermission(verifyStaff, 'inventory.adjust');

  app.get(
    '/api/admin/inventory/:variantId',
    {
      preValidation: requirePermission(verifyStaff, 'catalog.read'),
      schema: {
        tags: ['admin'],
        summary: "A variant's stock level and its 50 most recent movements (who, when, why)",
        params: Params,
        response: { 200: StockView, ...errorResponses },
      },
    },
    async (request) => variantStock(ctx, request.params.variantId),
  );

  app.post(
    '/api/admin/inventory/:variantId/adjustments',
    {
      preValidation: canAdjust,
      schema: {
        tags: ['admin'],
        summary: 'Change on-hand stock by a delta or to a value; recorded as a movement and audited',
        params: Params,
        body: Strict({
          delta: Type.Optional(Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 })),
          set: Type.Optional(StockQuantity),
          reason: literals(['restock', 'adjustment'] as const),
          note: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
        }),
        response: { 200: StockView, ...errorResponses },
      },
    },
    async (request) => {
      const { delta, set, reason, note } = request.body;
      if ((delta === undefined) === (set === undefined)) {
        throw problem.validation('body.delta give exactly one of delta and set', [
          { field: 'body.delta', message: 'give exactly one of delta and set' },
        ]);
      }
      if (delta === 0) {
        throw problem.validation('body.delta must not be 0', [
          { field: 'body.delta', message: 'must not be 0' },
        ]);
      }
      return adjustVariantStock(
        ctx,
        staffActor(request),
        request.params.variantId,
        delta !== undefined ? { delta } : { set: set as number },
        reason,
        note ?? null,
      );
    },
  );

  app.put(
    '/api/admin/inventory/:variantId/threshold',
    {
      preValidation: canAdjust,
      schema: {
        tags: ['admin'],
        summary: "Set a variant's low-stock threshold (null: use the shop's default)",
        params: Params,
        body: Strict({ low_stock_threshold: Type.Union([StockQuantity, Type.Null()]) }),
        response: { 200: StockView, ...errorResponses },
      },
    },
    async (request) =>
      setVariantThreshold(
        ctx,
        staffActor(request),
        request.params.variantId,
        request.body.low_stock_threshold,
      ),
  );
}
