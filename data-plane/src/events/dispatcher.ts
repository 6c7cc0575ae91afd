import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { type Poller, startPoller } from '../background/poller.ts';
import type { ServiceContext } from '../context.ts';
import { outboxEvents } from './schema.ts';
import { signWebhook, WEBHOOK_HEADERS } from './signing.ts';
import { assertDeliverable } from './url-policy.ts';
import { type DeliveryOutcome, webhookDeliveries, webhookEndpoints } from './webhook-schema.ts';
import { type EndpointRow, openEndpointSecret } from './webhooks.ts';

/**
 * The outbox dispatcher. Each round claims due outbox events with
 * `SELECT … FOR UPDATE SKIP LOCKED` and, in the same statement, pushes their next_attempt_at
 * forward by a lease, so no other dispatcher instance can pick them up while this one
 * delivers (and a crashed one's events come back when the lease runs out). Each event goes to
 * every live endpoint subscribed to its type that has neither received it nor exhausted its
 * attempts; every attempt is a webhook_deliveries row. An event whose endpoints all
 * succeeded or gave up is marked dispatched; otherwise it is retried after an exponential
 * backoff (base × 2^round, capped).
 */
export interface DispatchOptions {
  /** Events claimed per round. */
  batchSize?: number;
  /** Attempts per event and endpoint before giving up (at least 3). */
  maxAttempts?: number;
  /** First retry delay; doubles each round. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-request timeout (AbortSignal.timeout). */
  timeoutMs?: number;
  /** How long a claim keeps other dispatchers away; longer than a round can take. */
  leaseMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** The clock, for tests that step through backoff. */
  now?: () => Date;
  log?: Pick<FastifyBaseLogger, 'warn' | 'error' | 'info' | 'debug'>;
}

export const dispatchDefaults = {
  batchSize: 20,
  maxAttempts: 5,
  baseDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  timeoutMs: 10_000,
  leaseMs: 300_000,
  concurrency: 16,
} as const;

export interface DispatchReport {
  /** Events claimed this round. */
  claimed: number;
  /** Events marked dispatched this round. */
  dispatched: number;
  /** Attempts made, by outcome. */
  succeeded: number;
  retrying: number;
  failed: number;
}

interface ClaimedEvent {
  id: number;
  eventId: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  payload: unknown;
  occurredAt: Date;
  attempts: number;
}

interface Attempt {
  event: ClaimedEvent;
  endpoint: EndpointRow;
  attempt: number;
}

/** The JSON body a receiver gets; identical on every attempt of the same event. */
export function webhookBody(
  event: Pick<ClaimedEvent, 'eventId' | 'type' | 'occurredAt' | 'aggregateType' | 'aggregateId' | 'payload'>,
): string {
  return JSON.stringify({
    id: event.eventId,
    type: event.type,
    occurred_at: event.occurredAt.toISOString(),
    aggregate: { type: event.aggregateType, id: event.aggregateId },
    data: event.payload,
  });
}

export function backoffMs(round: number, options: { baseDelayMs: number; maxDelayMs: number }): number {
  return Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** round);
}

async function claimDueEvents(
  ctx: ServiceContext,
  now: Date,
  clockGiven: boolean,
  limit: number,
  leaseMs: number,
) {
  // Without a test clock, "due" is judged by the database's own clock: outbox rows get their
  // next_attempt_at from it, with microseconds a JavaScript Date would truncate. The claim is
  // a materialized CTE so it runs once: as a subquery in UPDATE … FROM, the planner may rescan
  // it per joined row, and each rescan locks another batch (seen with the email queue).
  const dueBy = clockGiven ? sql`${now}::timestamptz` : sql`clock_timestamp()`;
  const result = await ctx.db.execute<{
    id: string;
    event_id: string;
    type: string;
    aggregate_type: string;
    aggregate_id: string;
    payload: unknown;
    occurred_at: Date;
    attempts: number;
  }>(sql`
    WITH due AS MATERIALIZED (
      SELECT id FROM outbox_events
      WHERE tenant_id = ${ctx.tenantId} AND dispatched_at IS NULL AND next_attempt_at <= ${dueBy}
      ORDER BY next_attempt_at, id
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE outbox_events AS o
    SET next_attempt_at = ${new Date(now.getTime() + leaseMs)}
    FROM due
    WHERE o.id = due.id AND o.tenant_id = ${ctx.tenantId}
    RETURNING o.id, o.event_id, o.type, o.aggregate_type, o.aggregate_id, o.payload, o.created_at AS occurred_at, o.attempts`);
  return result.rows
    .map(
      (row): ClaimedEvent => ({
        id: Number(row.id),
        eventId: row.event_id,
        type: row.type,
        aggregateType: row.aggregate_type,
        aggregateId: row.aggregate_id,
        payload: row.payload,
        occurredAt: new Date(row.occurred_at),
        attempts: row.attempts,
      }),
    )
    .sort((a, b) => a.id - b.id);
}

/** Per (event, endpoint): attempts so far and whether it is settled (succeeded or gave up). */
async function priorAttempts(ctx: ServiceContext, eventIds: number[]) {
  const rows = await ctx.db
    .select({
      outboxEventId: webhookDeliveries.outboxEventId,
      endpointId: webhookDeliveries.endpointId,
      attempts: sql<number>`count(*)::int`,
      settled: sql<boolean>`bool_or(${webhookDeliveries.outcome} <> 'retrying')`,
    })
    .from(webhookDeliveries)
    .where(
      and(eq(webhookDeliveries.tenantId, ctx.tenantId), inArray(webhookDeliveries.outboxEventId, eventIds)),
    )
    .groupBy(webhookDeliveries.outboxEventId, webhookDeliveries.endpointId);
  return new Map(rows.map((row) => [`${row.outboxEventId}:${row.endpointId}`, row]));
}

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError')
      return `timed out after ${timeoutMs} ms`;
    const code = (error.cause as { code?: unknown } | undefined)?.code;
    return (typeof code === 'string' ? `${error.message} (${code})` : error.message).slice(0, 500);
  }
  return 'delivery failed';
}

async function deliver(
  ctx: ServiceContext,
  job: Attempt,
  timeoutMs: number,
): Promise<{ statusCode: number | null; error: string | null; durationMs: number; ok: boolean }> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    await assertDeliverable(job.endpoint.url, ctx.config.WEBHOOKS_ALLOW_HTTP_LOOPBACK);
    const body = webhookBody(job.event);
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await fetch(job.endpoint.url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'shop-webhooks/1',
        [WEBHOOK_HEADERS.id]: job.event.eventId,
        [WEBHOOK_HEADERS.event]: job.event.type,
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.attempt]: String(job.attempt),
        [WEBHOOK_HEADERS.signature]: signWebhook(openEndpointSecret(ctx, job.endpoint), timestamp, body),
      },
      body,
    });
    // The receiver's answer is not kept: only its status counts.
    await response.body?.cancel().catch(() => {});
    const ok = response.status >= 200 && response.status < 300;
    return {
      statusCode: response.status,
      error: ok
        ? null
        : response.status >= 300 && response.status < 400
          ? 'redirects are not followed'
          : `HTTP ${response.status}`,
      durationMs: elapsed(),
      ok,
    };
  } catch (error) {
    return { statusCode: null, error: describeError(error, timeoutMs), durationMs: elapsed(), ok: false };
  }
}

async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/** One dispatcher round: claim due events, deliver, record, schedule retries. */
export async function dispatchOnce(
  ctx: ServiceContext,
  options: DispatchOptions = {},
): Promise<DispatchReport> {
  const o = { ...dispatchDefaults, ...options };
  const maxAttempts = Math.max(3, o.maxAttempts);
  const now = o.now?.() ?? new Date();
  const report: DispatchReport = { claimed: 0, dispatched: 0, succeeded: 0, retrying: 0, failed: 0 };

  const events = await claimDueEvents(ctx, now, o.now !== undefined, o.batchSize, o.leaseMs);
  report.claimed = events.length;
  if (events.length === 0) return report;

  const endpoints = await ctx.db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.tenantId, ctx.tenantId),
        isNull(webhookEndpoints.deletedAt),
        eq(webhookEndpoints.enabled, true),
      ),
    );
  const prior = await priorAttempts(
    ctx,
    events.map((event) => event.id),
  );

  const jobs: Attempt[] = [];
  for (const event of events) {
    for (const endpoint of endpoints) {
      if (!endpoint.eventTypes.includes(event.type)) continue;
      const before = prior.get(`${event.id}:${endpoint.id}`);
      if (before?.settled || (before?.attempts ?? 0) >= maxAttempts) continue;
      jobs.push({ event, endpoint, attempt: (before?.attempts ?? 0) + 1 });
    }
  }

  const outcomes = await mapLimit(jobs, o.concurrency, async (job) => {
    const result = await deliver(ctx, job, o.timeoutMs);
    const outcome: DeliveryOutcome = result.ok
      ? 'succeeded'
      : job.attempt >= maxAttempts
        ? 'failed'
        : 'retrying';
    report[outcome] += 1;
    if (outcome !== 'succeeded') {
      o.log?.warn(
        {
          eventId: job.event.eventId,
          endpointId: job.endpoint.id,
          attempt: job.attempt,
          statusCode: result.statusCode,
          outcome,
        },
        'webhook delivery failed',
      );
    }
    return { job, result, outcome };
  });

  if (outcomes.length > 0) {
    await ctx.db
      .insert(webhookDeliveries)
      .values(
        outcomes.map(({ job, result, outcome }) => ({
          tenantId: ctx.tenantId,
          outboxEventId: job.event.id,
          eventId: job.event.eventId,
          eventType: job.event.type,
          endpointId: job.endpoint.id,
          attempt: job.attempt,
          outcome,
          statusCode: result.statusCode,
          error: result.error,
          durationMs: result.durationMs,
          attemptedAt: now,
        })),
      )
      .onConflictDoNothing();
  }

  const pending = new Set(outcomes.filter((x) => x.outcome === 'retrying').map((x) => x.job.event.id));
  const done = events.filter((event) => !pending.has(event.id)).map((event) => event.id);
  if (done.length > 0) {
    await ctx.db
      .update(outboxEvents)
      .set({ dispatchedAt: now, attempts: sql`${outboxEvents.attempts} + 1` })
      .where(
        and(
          eq(outboxEvents.tenantId, ctx.tenantId),
          inArray(outboxEvents.id, done),
          isNull(outboxEvents.dispatchedAt),
        ),
      );
    report.dispatched = done.length;
  }
  for (const event of events.filter((e) => pending.has(e.id))) {
    await ctx.db
      .update(outboxEvents)
      .set({
        attempts: event.attempts + 1,
        nextAttemptAt: new Date(now.getTime() + backoffMs(event.attempts, o)),
      })
      .where(
        and(
          eq(outboxEvents.tenantId, ctx.tenantId),
          eq(outboxEvents.id, event.id),
          isNull(outboxEvents.dispatchedAt),
        ),
      );
  }
  return report;
}

/**
 * Runs dispatchOnce on an interval (immediately again while rounds come back full) until
 * stopped. stop() waits for the round in flight, so shutdown never cuts a delivery's record.
 */
export function startDispatcher(
  ctx: ServiceContext,
  options: DispatchOptions & { intervalMs?: number } = {},
): Poller {
  const batchSize = options.batchSize ?? dispatchDefaults.batchSize;
  return startPoller(
    async () => {
      const report = await dispatchOnce(ctx, options);
      if (report.claimed > 0) options.log?.debug({ ...report }, 'webhook dispatch round');
      return { fullBatch: report.claimed >= batchSize };
    },
    {
      intervalMs: options.intervalMs ?? 1000,
      onError: (error) => options.log?.error({ err: error }, 'webhook dispatch round failed'),
    },
  );
}
