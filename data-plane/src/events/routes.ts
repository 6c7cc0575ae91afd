import { Empty, errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { eventTypes } from './emit.ts';
import { deliveryOutcomes } from './webhook-schema.ts';
import {
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  publicDelivery,
  publicEndpoint,
  rotateEndpointSecret,
  updateEndpoint,
} from './webhooks.ts';

const endpointFields = {
  url: Type.String({
    minLength: 1,
    maxLength: 2048,
    description:
      'https URL that receives the events (http only to loopback when WEBHOOKS_ALLOW_HTTP_LOOPBACK)',
  }),
  event_types: Type.Array(literals(eventTypes), {
    minItems: 1,
    maxItems: eventTypes.length,
    uniqueItems: true,
  }),
  description: Type.Optional(Type.String({ maxLength: 200 })),
  enabled: Type.Optional(Type.Boolean()),
};

const Endpoint = Strict({
  id: Uuid,
  url: Type.String(),
  description: Type.String(),
  event_types: Type.Array(literals(eventTypes)),
  enabled: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const Secret = Type.String({
  description: 'the signing secret (whsec_…): shown only in this response; store it now',
});

const Delivery = Strict({
  id: Type.Integer(),
  event_id: Uuid,
  event_type: Type.String(),
  attempt: Type.Integer(),
  outcome: literals(deliveryOutcomes),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Integer(),
  attempted_at: Timestamp,
});

const Params = Strict({ id: Uuid });
const tags = ['admin'];

/** The shop's outbound webhooks (permission webhooks.manage). */
export async function webhookRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  const canManage = requirePermission(verifyStaff, 'webhooks.manage');

  app.get(
    '/api/admin/webhooks',
    {
      preValidation: canManage,
      schema: {
        tags,
        summary: "The shop's webhook endpoints (never their secrets)",
        response: { 200: Strict({ items: Type.Array(Endpoint) }), ...errorResponses },
      },
    },
    async () => ({ items: (await listEndpoints(ctx)).map(publicEndpoint) }),
  );

  app.post(
    '/api/admin/webhooks',
    {
      preValidation: canManage,
      schema: {
        tags,
        summary: 'Add a webhook endpoint; the response carries its signing secret, once',
        description:
          'Each delivery is a POST with webhook-id, webhook-event, webhook-timestamp (Unix seconds), webhook-attempt and webhook-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>.',
        body: Strict(endpointFields),
        response: { 201: Strict({ endpoint: Endpoint, secret: Secret }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { row, secret } = await createEndpoint(ctx, staffActor(request), request.body);
      return reply.code(201).send({ endpoint: publicEndpoint(row), secret });
    },
  );

  app.get(
    '/api/admin/webhooks/:id',
    {
      preValidation: canManage,
      schema: {
        tags,
        summary: 'One webhook endpoint',
        params: Params,
        response: { 200: Endpoint, ...errorResponses },
      },
    },
    async (request) => publicEndpoint(await getEndpoint(ctx, request.params.id)),
  );

  app.patch(
    '/api/admin/webhooks/:id',
    {
      preValidation: canManage,
      schema: {
        tags,
        summary: 'Change a webhook endpoint (URL, event types, description, enabled)',
        params: Params,
        body: Type.Partial(Strict(endpointFields), { additionalProperties: false, minProperties: 1 }),
        response: { 200: Endpoint, ...errorResponses },
      },
    },
    async (request) =>
      publicEndpoint(await updateEndpoint(ctx, staffActor(request), request.params.id, request.body)),
  );

  app.delete(
    '/api/admin/webhooks/:id',
    {
      preValidation: canManage,
      schema: {
        tags,
        summary: 'Remove a webhook endpoint (its delivery log is kept)',
        params: Params,
        response: { 204: Empty, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteEndpoint(ctx, staffActor(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/admin/webhooks/:id/rotate-secret',
    {
      preValidation: canManage,
      schema: {
        tags,
        summary: "Replace an endpoint's signing secret; the new one is shown once",
        params: Params,
        response: { 200: Strict({ secret: Secret }), ...errorResponses },
      },
    },
    async (request) => ({ secret: await rotateEndpointSecret(ctx, staffActor(request), request.params.id) }),
  );

  app.get(
    '/api/admin/webhooks/:id/deliveries',
    {
      preValidation: canManage,
      schema: {
        tags,
        summary: "An endpoint's delivery attempts, newest first",
        params: Params,
        querystring: Strict({
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          before: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: Number.MAX_SAFE_INTEGER,
              description: 'only attempts with a smaller id',
            }),
          ),
        }),
        response: { 200: Strict({ items: Type.Array(Delivery) }), ...errorResponses },
      },
    },
    async (request) => {
      const { limit, before } = request.query;
      const rows = await listDeliveries(ctx, request.params.id, {
        limit,
        ...(before !== undefined ? { before } : {}),
      });
      return { items: rows.map(publicDelivery) };
    },
  );
}
