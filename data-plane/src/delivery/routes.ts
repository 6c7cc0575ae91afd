import { errorResponses, literals, Strict, Timestamp } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { adminDetailOf } from '../orders/queries.ts';
import { OrderParams } from '../orders/routes.ts';
import { AdminOrder } from '../orders/views.ts';
import { trackingStatuses } from './schema.ts';
import {
  addTrackingEvent,
  markDelivered,
  openDownload,
  setDigitalDelivery,
  startFulfillment,
} from './service.ts';

const Carrier = Type.String({ minLength: 1, maxLength: 80 });
const TrackingNumber = Type.String({ pattern: '^[A-Za-z0-9 -]{1,64}$' });
const Note = Type.String({ minLength: 1, maxLength: 2000 });

export async function deliveryRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  const fulfil = requirePermission(verifyStaff, 'orders.fulfil');
  const detail = { 200: AdminOrder, ...errorResponses };

  app.post(
    '/api/admin/orders/:id/start-fulfillment',
    {
      preValidation: fulfil,
      schema: {
        tags: ['admin'],
        summary: 'Start fulfilling a paid order, optionally with carrier and tracking number',
        params: OrderParams,
        body: Strict({
          carrier: Type.Optional(Carrier),
          tracking_number: Type.Optional(TrackingNumber),
          note: Type.Optional(Note),
        }),
        response: detail,
      },
    },
    async (request) =>
      adminDetailOf(
        ctx,
        await startFulfillment(ctx, staffActor(request), request.params.id.toLowerCase(), request.body),
      ),
  );

  app.post(
    '/api/admin/orders/:id/tracking',
    {
      preValidation: fulfil,
      schema: {
        tags: ['admin'],
        summary: "Add a tracking event to the order's delivery timeline",
        params: OrderParams,
        body: Strict({
          status: literals(trackingStatuses),
          description: Type.String({ minLength: 1, maxLength: 500 }),
          location: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          carrier: Type.Optional(Carrier),
          tracking_number: Type.Optional(TrackingNumber),
          occurred_at: Type.Optional(Timestamp),
        }),
        response: detail,
      },
    },
    async (request) =>
      adminDetailOf(
        ctx,
        await addTrackingEvent(ctx, staffActor(request), request.params.id.toLowerCase(), request.body),
      ),
  );

  app.post(
    '/api/admin/orders/:id/confirm-delivery',
    {
      preValidation: fulfil,
      schema: {
        tags: ['admin'],
        summary: 'Confirm the order was delivered',
        params: OrderParams,
        body: Strict({ note: Type.Optional(Note) }),
        response: detail,
      },
    },
    async (request) =>
      adminDetailOf(
        ctx,
        await markDelivered(
          ctx,
          staffActor(request),
          request.params.id.toLowerCase(),
          request.body.note ?? null,
        ),
      ),
  );

  app.post(
    '/api/admin/orders/:id/digital-delivery',
    {
      preValidation: fulfil,
      schema: {
        tags: ['admin'],
        summary: 'Attach digital goods (an https URL); the buyer gets a signed link that expires',
        params: OrderParams,
        body: Strict({
          url: Type.String({ format: 'uri', pattern: '^https://', maxLength: 2048 }),
          note: Type.Optional(Note),
        }),
        response: detail,
      },
    },
    async (request) =>
      adminDetailOf(
        ctx,
        await setDigitalDelivery(ctx, staffActor(request), request.params.id.toLowerCase(), request.body),
      ),
  );

  app.get(
    '/api/storefront/orders/:id/download',
    {
      schema: {
        tags: ['storefront'],
        summary: "An order's digital goods, through the signed link from the order",
        params: OrderParams,
        querystring: Strict({
          expires: Type.Integer({ minimum: 0, maximum: 99_999_999_999 }),
          sig: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
        }),
        response: {
          200: Strict({ url: Type.String(), note: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses,
        },
      },
    },
    async (request) =>
      openDownload(ctx, request.params.id.toLowerCase(), request.query.expires, request.query.sig),
  );
}
