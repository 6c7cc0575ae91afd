import { problem } from '@amanat/kit/http/problem';
import { errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import { currentBuyer, requireBuyer, signedInBuyer } from '../buyers/session.ts';
import type { ServiceContext } from '../context.ts';
import { paymentRails } from '../settings/schema.ts';
import { orderForViewer, storefrontOrderDetail } from './access.ts';
import { cancelOrder, completeOrder, openDispute, refundOrder, releaseEscrow } from './actions.ts';
import { adminDetailOf, adminOrderDetail, listBuyerOrders, listOrders } from './queries.ts';
import { orderStatuses } from './schema.ts';
import { AdminOrder, AdminOrderSummary, OrderStatusSchema, RailSchema, StorefrontOrder } from './views.ts';

export const OrderParams = Strict({ id: Uuid });
const OrderToken = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });
const Reason = Type.String({ minLength: 1, maxLength: 2000 });

const BuyerOrderSummary = Strict({
  id: Uuid,
  status: OrderStatusSchema,
  rail: RailSchema,
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  total_minor: Type.Integer({ minimum: 0 }),
  item_count: Type.Integer({ minimum: 1 }),
  created_at: Timestamp,
});

export async function orderRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  app.get(
    '/api/storefront/orders/:id',
    {
      schema: {
        tags: ['storefront'],
        summary: "An order: the signed-in buyer's own, or a guest's with its access token",
        description:
          'Guests send the token from the confirmation as x-order-token (or ?token=). Anyone else gets 404.',
        params: OrderParams,
        querystring: Strict({ token: Type.Optional(OrderToken) }),
        headers: Type.Object({ 'x-order-token': Type.Optional(OrderToken) }),
        response: { 200: StorefrontOrder, ...errorResponses },
      },
    },
    async (request) => {
      const viewable = await orderForViewer(ctx, request.params.id.toLowerCase(), {
        buyer: await currentBuyer(ctx, request),
        token: request.headers['x-order-token'] ?? request.query.token,
      });
      if (!viewable) throw problem.notFound(`No order ${request.params.id} for you here.`);
      return storefrontOrderDetail(ctx, viewable.order);
    },
  );

  app.get(
    '/api/storefront/account/orders',
    {
      preValidation: requireBuyer(ctx),
      schema: {
        tags: ['storefront'],
        security: [{ buyer: [] }],
        summary: "The signed-in buyer's own orders, newest first, paged",
        querystring: Strict({
          page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
        }),
        response: {
          200: Strict({
            items: Type.Array(BuyerOrderSummary),
            page: Type.Integer(),
            limit: Type.Integer(),
            total: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) =>
      listBuyerOrders(ctx, signedInBuyer(request).id, {
        page: request.query.page ?? 1,
        limit: request.query.limit ?? 20,
      }),
  );

  app.get(
    '/api/admin/orders',
    {
      preValidation: requirePermission(verifyStaff, 'orders.read'),
      schema: {
        tags: ['admin'],
        summary: "The shop's orders, filtered, sorted and paged",
        querystring: Strict({
          status: Type.Optional(Type.Array(literals(orderStatuses), { maxItems: orderStatuses.length })),
          rail: Type.Optional(Type.Array(literals(paymentRails), { maxItems: paymentRails.length })),
          from: Type.Optional(Timestamp),
          to: Type.Optional(Timestamp),
          q: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'part of the email' })),
          sort: Type.Optional(literals(['created_at', 'total_minor', 'updated_at'])),
          order: Type.Optional(literals(['asc', 'desc'])),
          page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        }),
        response: {
          200: Strict({
            items: Type.Array(AdminOrderSummary),
            page: Type.Integer(),
            limit: Type.Integer(),
            total: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const query = request.query;
      if (query.from && query.to && new Date(query.from) >= new Date(query.to)) {
        throw problem.validation('query.to must be after query.from', [
          { field: 'query.to', message: 'must be after from' },
        ]);
      }
      return listOrders(ctx, {
        ...query,
        sort: query.sort ?? 'created_at',
        order: query.order ?? 'desc',
        page: query.page ?? 1,
        limit: query.limit ?? 20,
      });
    },
  );

  app.get(
    '/api/admin/orders/:id',
    {
      preValidation: requirePermission(verifyStaff, 'orders.read'),
      schema: {
        tags: ['admin'],
        summary: 'One order with its lines, payment, transitions, tracking and escrow balances',
        params: OrderParams,
        response: { 200: AdminOrder, ...errorResponses },
      },
    },
    async (request) => {
      const detail = await adminOrderDetail(ctx, request.params.id.toLowerCase());
      if (!detail) throw problem.notFound(`No order ${request.params.id} in this shop.`);
      return detail;
    },
  );

  const actions = [
    {
      path: 'cancel',
      permission: 'orders.cancel',
      summary: 'Cancel: an unpaid order releases its stock; a paid one is refunded and restocked',
      body: Strict({ reason: Reason }),
      run: (request: ActionRequest) =>
        cancelOrder(ctx, staffActor(request), request.params.id.toLowerCase(), request.body.reason ?? null),
    },
    {
      path: 'refund',
      permission: 'escrow.settle',
      summary: 'Refund the buyer (escrow: what escrow holds; a dispute is resolved for the buyer)',
      body: Strict({ reason: Reason }),
      run: (request: ActionRequest) =>
        refundOrder(ctx, staffActor(request), request.params.id.toLowerCase(), request.body.reason ?? null),
    },
    {
      path: 'dispute',
      permission: 'orders.dispute',
      summary: 'Open a dispute on an escrow order',
      body: Strict({ reason: Reason }),
      run: (request: ActionRequest) =>
        openDispute(ctx, staffActor(request), request.params.id.toLowerCase(), request.body.reason ?? ''),
    },
    {
      path: 'release-escrow',
      permission: 'escrow.settle',
      summary:
        'Release escrow to the seller: completes a delivered order, or resolves a dispute for the seller',
      body: Strict({ note: Type.Optional(Reason) }),
      run: (request: ActionRequest) =>
        releaseEscrow(ctx, staffActor(request), request.params.id.toLowerCase(), request.body.note ?? null),
    },
    {
      path: 'complete',
      permission: 'orders.fulfil',
      summary: 'Complete a delivered order that holds no escrow',
      body: Strict({ note: Type.Optional(Reason) }),
      run: (request: ActionRequest) =>
        completeOrder(ctx, staffActor(request), request.params.id.toLowerCase(), request.body.note ?? null),
    },
  ] as const;

  for (const action of actions) {
    app.post(
      `/api/admin/orders/:id/${action.path}`,
      {
        preValidation: requirePermission(verifyStaff, action.permission),
        schema: {
          tags: ['admin'],
          summary: action.summary,
          params: OrderParams,
          body: action.body,
          response: { 200: AdminOrder, ...errorResponses },
        },
      },
      async (request) => adminDetailOf(ctx, await action.run(request as unknown as ActionRequest)),
    );
  }
}

type ActionRequest = Parameters<typeof staffActor>[0] & {
  params: { id: string };
  body: { reason?: string; note?: string };
};
