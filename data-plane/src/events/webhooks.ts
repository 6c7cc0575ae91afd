import { randomUUID } from 'node:crypto';
import { problem } from '@amanat/kit/http/problem';
import { and, asc, count, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import { type Actor, recordAudit } from '../audit/record.ts';
import type { ServiceContext } from '../context.ts';
import type { Queryable } from '../db/client.ts';
import type { EventType } from './emit.ts';
import { newWebhookSecret } from './signing.ts';
import { webhookUrlProblem } from './url-policy.ts';
import { webhookDeliveries, webhookEndpoints } from './webhook-schema.ts';

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export const MAX_ENDPOINTS = 20;

/** The sealed secret is bound to its tenant and endpoint, so it cannot be moved between rows. */
export const secretAad = (tenantId: string, endpointId: string) => `webhook-secret:${tenantId}:${endpointId}`;

export function openEndpointSecret(ctx: ServiceContext, row: EndpointRow): string {
  return ctx.config.keyring.open(row.secretSealed, secretAad(row.tenantId, row.id));
}

export function publicEndpoint(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: row.eventTypes as EventType[],
    enabled: row.enabled,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function publicDelivery(row: DeliveryRow) {
  return {
    id: row.id,
    event_id: row.eventId,
    event_type: row.eventType,
    attempt: row.attempt,
    outcome: row.outcome,
    status_code: row.statusCode,
    error: row.error,
    duration_ms: row.durationMs,
    attempted_at: row.attemptedAt.toISOString(),
  };
}

function assertUrl(ctx: ServiceContext, url: string) {
  const reason = webhookUrlProblem(url, ctx.config.WEBHOOKS_ALLOW_HTTP_LOOPBACK);
  if (reason) throw problem.validation(`body.url ${reason}`, [{ field: 'body.url', message: reason }]);
}

const live = (tenantId: string, id: string) =>
  and(
    eq(webhookEndpoints.tenantId, tenantId),
    eq(webhookEndpoints.id, id),
    isNull(webhookEndpoints.deletedAt),
  );

async function lockEndpoint(tx: Queryable, tenantId: string, id: string): Promise<EndpointRow> {
  const [row] = await tx.select().from(webhookEndpoints).where(live(tenantId, id)).for('update');
  if (!row) throw problem.notFound('No such webhook endpoint.');
  return row;
}

export async function listEndpoints(ctx: ServiceContext): Promise<EndpointRow[]> {
  return ctx.db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, ctx.tenantId), isNull(webhookEndpoints.deletedAt)))
    .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id));
}

export async function getEndpoint(ctx: ServiceContext, id: string): Promise<EndpointRow> {
  const [row] = await ctx.db.select().from(webhookEndpoints).where(live(ctx.tenantId, id));
  if (!row) throw problem.notFound('No such webhook endpoint.');
  return row;
}

export interface EndpointInput {
  url: string;
  event_types: EventType[];
  description?: string;
  enabled?: boolean;
}

/** Creates an endpoint with a server-generated signing secret, returned this once only. */
export async function createEndpoint(
  ctx: ServiceContext,
  actor: Actor,
  input: EndpointInput,
): Promise<{ row: EndpointRow; secret: string }> {
  assertUrl(ctx, input.url);
  const id = randomUUID();
  const secret = newWebhookSecret();
  const row = await ctx.db.transaction(async (tx) => {
    // Serialises creations so the endpoint limit holds under concurrency.
    await tx.execute(
      sql`SELECT pg_advisory_xact_lock(hashtextextended(${`webhook-endpoints:${ctx.tenantId}`}, 0))`,
    );
    const [existing] = await tx
      .select({ n: count() })
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenantId, ctx.tenantId), isNull(webhookEndpoints.deletedAt)));
    if ((existing?.n ?? 0) >= MAX_ENDPOINTS) {
      throw problem.conflict('too-many-webhooks', `A shop has at most ${MAX_ENDPOINTS} webhook endpoints.`);
    }
    const [inserted] = await tx
      .insert(webhookEndpoints)
      .values({
        id,
        tenantId: ctx.tenantId,
        url: input.url,
        description: input.description ?? '',
        eventTypes: input.event_types,
        enabled: input.enabled ?? true,
        secretSealed: ctx.config.keyring.seal(secret, secretAad(ctx.tenantId, id)),
      })
      .returning();
    const created = inserted as EndpointRow;
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'webhook.created',
      targetType: 'webhook_endpoint',
      targetId: id,
      after: publicEndpoint(created),
    });
    return created;
  });
  return { row, secret };
}

export async function updateEndpoint(
  ctx: ServiceContext,
  actor: Actor,
  id: string,
  patch: Partial<EndpointInput>,
): Promise<EndpointRow> {
  if (patch.url !== undefined) assertUrl(ctx, patch.url);
  return ctx.db.transaction(async (tx) => {
    const current = await lockEndpoint(tx, ctx.tenantId, id);
    const [row] = await tx
      .update(webhookEndpoints)
      .set({
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.event_types !== undefined ? { eventTypes: patch.event_types } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
        updatedAt: new Date(),
      })
      .where(live(ctx.tenantId, id))
      .returning();
    const updated = row as EndpointRow;
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'webhook.updated',
      targetType: 'webhook_endpoint',
      targetId: id,
      before: publicEndpoint(current),
      after: publicEndpoint(updated),
    });
    return updated;
  });
}

/** Replaces the signing secret; the new one is returned this once only. */
export async function rotateEndpointSecret(ctx: ServiceContext, actor: Actor, id: string): Promise<string> {
  const secret = newWebhookSecret();
  await ctx.db.transaction(async (tx) => {
    await lockEndpoint(tx, ctx.tenantId, id);
    await tx
      .update(webhookEndpoints)
      .set({
        secretSealed: ctx.config.keyring.seal(secret, secretAad(ctx.tenantId, id)),
        updatedAt: new Date(),
      })
      .where(live(ctx.tenantId, id));
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'webhook.secret_rotated',
      targetType: 'webhook_endpoint',
      targetId: id,
    });
  });
  return secret;
}

/** Soft delete: the endpoint stops receiving events; its delivery log stays readable to audits. */
export async function deleteEndpoint(ctx: ServiceContext, actor: Actor, id: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const current = await lockEndpoint(tx, ctx.tenantId, id);
    await tx
      .update(webhookEndpoints)
      .set({ deletedAt: new Date(), enabled: false, updatedAt: new Date() })
      .where(live(ctx.tenantId, id));
    await recordAudit(tx, ctx.tenantId, actor, {
      action: 'webhook.deleted',
      targetType: 'webhook_endpoint',
      targetId: id,
      before: publicEndpoint(current),
    });
  });
}

/** The endpoint's delivery attempts, newest first; `before` pages on by id. */
export async function listDeliveries(
  ctx: ServiceContext,
  endpointId: string,
  page: { limit: number; before?: number },
): Promise<DeliveryRow[]> {
  await getEndpoint(ctx, endpointId);
  return ctx.db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.tenantId, ctx.tenantId),
        eq(webhookDeliveries.endpointId, endpointId),
        ...(page.before !== undefined ? [lt(webhookDeliveries.id, page.before)] : []),
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(page.limit);
}
