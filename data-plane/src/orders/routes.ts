import { timingSafeEqual } from 'node:crypto';
import { problem } from '@amanat/kit/http/problem';
import { errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import { currentBuyer } from '../buyers/session.ts';
import { hashOrderToken } from '../checkout/service.ts';
import type { ServiceContext } from '../context.ts';
import { trackingOf } from '../delivery/service.ts';
import { paymentRails } from '../settings/schema.ts';
import { cancelOrder, completeOrder, openDispute, refundOrder, releaseEscrow } from './actions.ts';
import { adminDetailOf, adminOrderDetail, listOrders } from './queries.ts';
import { orderStatuses } from './schema.ts';
import { findOrder, linesOf, type OrderRow } from './service.ts';
import { AdminOrder, AdminOrderSummary, StorefrontOrder, storefrontOrderView } from './views.ts';

export const OrderParams = Strict({ id: Uuid });
const OrderToken = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });
const Reason = Type.String({ minLength: 1, maxLength: 2000 });

function tokenMatches(order: OrderRow, token: string | undefined): boolean {
  if (!token || !order.accessTokenHash) return false;
  const given = Buffer.from(hashOrderToken(token));
  const stored = Buffer.from(order.accessTokenHash);
  return given.length === stored.length && timingSafeEqual(given, stored);
}

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
      const notFound = problem.notFound(`No order ${request.params.id} for you here.`);
      const order = await findOrder(ctx.db, ctx.tenantId, request.params.id.toLowerCase());
      if (!order) throw notFound;
      const buyer = await currentBuyer(ctx, request);
      const owns = buyer !== null && order.buyerId === buyer.id;
      if (!owns && !tokenMatches(order, request.headers['x-order-token'] ?? request.query.token))
        throw notFound;
      const [lines, tracking] = await Promise.all([
        linesOf(ctx.db, ctx.tenantId, order.id),
        trackingOf(ctx.db, ctx.tenantId, order.id),
      ]);
      return storefrontOrderView(ctx, order, lines, tracking);
    },
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
