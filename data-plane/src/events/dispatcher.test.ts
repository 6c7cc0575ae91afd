import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { connect } from '../db/client.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { dispatchOnce, startDispatcher } from './dispatcher.ts';
import { type EventType, emitEvent } from './emit.ts';
import { outboxEvents } from './schema.ts';
import { verifyWebhookSignature } from './signing.ts';
import { webhookUrlProblem } from './url-policy.ts';
import { webhookDeliveries, webhookEndpoints } from './webhook-schema.ts';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP server on loopback playing the shop's webhook receiver. */
async function startReceiver(
  respond: (request: Received, index: number) => number | Promise<number> = () => 200,
) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const entry = {
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(entry);
      const status = await respond(entry, received.length - 1);
      res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    received,
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let dp: TestDataPlane;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
beforeEach(async () => {
  dp = await startTestDataPlane({ env: { WEBHOOKS_ALLOW_HTTP_LOOPBACK: 'true' } });
});
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  await dp.close();
});

async function createEndpoint(url: string, eventTypes: EventType[] = ['order.paid']) {
  const response = await dp.app.inject({
    method: 'POST',
    url: '/api/admin/webhooks',
    headers: await dp.staffHeaders('developer'),
    payload: { url, event_types: eventTypes, description: 'test receiver' },
  });
  expect(response.statusCode).toBe(201);
  return response.json() as { endpoint: { id: string }; secret: string };
}

async function emit(type: EventType = 'order.paid', aggregateId = 'order-1') {
  await emitEvent(dp.db, dp.tenantId, {
    type,
    aggregateType: 'order',
    aggregateId,
    payload: { order_id: aggregateId },
  });
}

const deliveries = () => dp.db.select().from(webhookDeliveries).orderBy(webhookDeliveries.id);
const events = () => dp.db.select().from(outboxEvents).orderBy(outboxEvents.id);
const later = (ms: number) => () => new Date(Date.now() + ms);

describe('webhook endpoints', () => {
  it('creates an endpoint with a server-made secret shown once and sealed at rest', async () => {
    receiver = await startReceiver();
    const { endpoint, secret } = await createEndpoint(receiver.url());
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const [row] = await dp.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(row?.secretSealed.startsWith('v1.')).toBe(true);
    expect(row?.secretSealed).not.toContain(secret.slice(6));
    const list = await dp.app.inject({ url: '/api/admin/webhooks', headers: await dp.staffHeaders('owner') });
    expect(list.statusCode).toBe(200);
    expect(JSON.stringify(list.json())).not.toContain('whsec_');
    const audit = await dp.db.select().from(auditLog).where(eq(auditLog.targetId, endpoint.id));
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('needs webhooks.manage (a manager gets 403) and refuses non-https or private URLs naming body.url', async () => {
    const manager = await dp.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: await dp.staffHeaders('manager'),
      payload: { url: 'https://hooks.example.com/x', event_types: ['order.paid'] },
    });
    expect(manager.statusCode).toBe(403);
    for (const url of [
      'http://hooks.example.com/x',
      'https://10.0.0.8/x',
      'https://169.254.169.254/',
      'ftp://x.example.com/',
      'https://user:pw@hooks.example.com/',
    ]) {
      const response = await dp.app.inject({
        method: 'POST',
        url: '/api/admin/webhooks',
        headers: await dp.staffHeaders('owner'),
        payload: { url, event_types: ['order.paid'] },
      });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().errors[0].field).toBe('body.url');
    }
    expect(await dp.rowCount(webhookEndpoints)).toBe(0);
  });

  it('without the loopback flag, http to loopback is refused too', () => {
    expect(webhookUrlProblem('http://127.0.0.1:9999/x', false)).toBe('must use https');
    expect(webhookUrlProblem('https://127.0.0.1:9999/x', false)).toMatch(/private or local/);
    expect(webhookUrlProblem('https://localhost/x', false)).toMatch(/public host/);
    expect(webhookUrlProblem('https://[::ffff:10.0.0.1]/x', false)).toMatch(/private or local/);
    expect(webhookUrlProblem('https://hooks.example.com/x', false)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:9999/x', true)).toBeNull();
    expect(webhookUrlProblem('http://10.0.0.1:9999/x', true)).toBe('must use https');
  });
});

describe('the dispatcher', () => {
  it('delivers subscribed events signed over "<timestamp>.<body>"; the receiver verifies the signature', async () => {
    receiver = await startReceiver();
    const { endpoint, secret } = await createEndpoint(receiver.url());
    await emit('order.paid', 'order-a');
    await emit('stock.low', 'variant-b');
    const report = await dispatchOnce(dp.ctx);
    expect(report).toMatchObject({ claimed: 2, dispatched: 2, succeeded: 1, retrying: 0, failed: 0 });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received as [Received];
    const timestamp = request.headers['webhook-timestamp'] as string;
    const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex')}`;
    expect(request.headers['webhook-signature']).toBe(expected);
    expect(
      verifyWebhookSignature(
        secret,
        { timestamp, signature: request.headers['webhook-signature'] as string },
        request.body,
      ),
    ).toBe(true);
    expect(verifyWebhookSignature('whsec_wrong', { timestamp, signature: expected }, request.body)).toBe(
      false,
    );
    const body = JSON.parse(request.body);
    expect(body).toMatchObject({
      type: 'order.paid',
      aggregate: { type: 'order', id: 'order-a' },
      data: { order_id: 'order-a' },
    });
    expect(request.headers['webhook-id']).toBe(body.id);
    expect(request.headers['webhook-event']).toBe('order.paid');
    expect(JSON.stringify(request.headers)).not.toMatch(/amanat/i);
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({
      endpointId: endpoint.id,
      attempt: 1,
      outcome: 'succeeded',
      statusCode: 200,
      error: null,
    });
    expect((await events()).every((e) => e.dispatchedAt !== null)).toBe(true);
    // Nothing is due any more.
    expect((await dispatchOnce(dp.ctx)).claimed).toBe(0);
    const log = await dp.app.inject({
      url: `/api/admin/webhooks/${endpoint.id}/deliveries`,
      headers: await dp.staffHeaders('owner'),
    });
    expect(log.json().items).toMatchObject([{ attempt: 1, outcome: 'succeeded', status_code: 200 }]);
  });

  it('retries after 500s with exponential backoff, then succeeds, recording every attempt', async () => {
    receiver = await startReceiver((_request, index) => (index < 2 ? 500 : 204));
    await createEndpoint(receiver.url());
    await emit();
    const options = { baseDelayMs: 60_000, maxAttempts: 5 };
    const t0 = Date.now() + 1000;

    expect(await dispatchOnce(dp.ctx, { ...options, now: () => new Date(t0) })).toMatchObject({
      retrying: 1,
    });
    let [event] = await events();
    expect(event?.nextAttemptAt.getTime()).toBe(t0 + 60_000);
    // Not due yet: nothing is sent.
    expect((await dispatchOnce(dp.ctx, { ...options, now: () => new Date(t0 + 59_000) })).claimed).toBe(0);
    expect(receiver.received).toHaveLength(1);

    expect(await dispatchOnce(dp.ctx, { ...options, now: () => new Date(t0 + 60_000) })).toMatchObject({
      retrying: 1,
    });
    [event] = await events();
    expect(event?.nextAttemptAt.getTime()).toBe(t0 + 60_000 + 120_000);

    expect(await dispatchOnce(dp.ctx, { ...options, now: () => new Date(t0 + 180_000) })).toMatchObject({
      succeeded: 1,
      dispatched: 1,
    });
    const rows = await deliveries();
    expect(rows.map((r) => [r.attempt, r.outcome, r.statusCode])).toEqual([
      [1, 'retrying', 500],
      [2, 'retrying', 500],
      [3, 'succeeded', 204],
    ]);
    expect(rows.every((r) => r.durationMs >= 0)).toBe(true);
    [event] = await events();
    expect(event?.dispatchedAt).not.toBeNull();
    expect(event?.attempts).toBe(3);
    // Same event, same body on every attempt; the attempt number travels in a header.
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    expect(receiver.received.map((r) => r.headers['webhook-attempt'])).toEqual(['1', '2', '3']);
  });

  it('gives up after the maximum attempts, marks the last one failed and the event dispatched', async () => {
    receiver = await startReceiver(() => 500);
    const failing = await createEndpoint(receiver.url('/always-500'));
    // A port nobody listens on: connection refused, recorded as an error with no status.
    const closed = await startReceiver();
    const deadUrl = closed.url('/gone');
    await closed.close();
    const dead = await createEndpoint(deadUrl);
    await emit();
    const options = { baseDelayMs: 1000, maxAttempts: 3 };
    for (let round = 0; round < 5; round += 1) {
      await dispatchOnce(dp.ctx, { ...options, now: later(round * 3_600_000) });
    }
    expect(receiver.received).toHaveLength(3);
    const rows = await deliveries();
    const byEndpoint = (id: string) =>
      rows.filter((r) => r.endpointId === id).map((r) => [r.attempt, r.outcome]);
    expect(byEndpoint(failing.endpoint.id)).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'failed'],
    ]);
    expect(byEndpoint(dead.endpoint.id)).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'failed'],
    ]);
    const deadRows = rows.filter((r) => r.endpointId === dead.endpoint.id);
    expect(
      deadRows.every((r) => r.statusCode === null && typeof r.error === 'string' && r.error.length > 0),
    ).toBe(true);
    const [event] = await events();
    expect(event?.dispatchedAt).not.toBeNull();
    expect(event?.attempts).toBe(3);
  });

  it('two dispatchers running concurrently deliver each event exactly once', async () => {
    receiver = await startReceiver(async () => {
      await new Promise((resolve) => setTimeout(resolve, 15));
      return 200;
    });
    const first = await createEndpoint(receiver.url('/one'), ['order.paid', 'order.created']);
    const second = await createEndpoint(receiver.url('/two'), ['order.paid']);
    for (let i = 0; i < 30; i += 1) await emit(i % 2 === 0 ? 'order.paid' : 'order.created', `order-${i}`);
    // A second instance: its own connection pool, as another replica would have.
    const other = connect(dp.config.DATABASE_URL, 5);
    const ctxB = { ...dp.ctx, db: other.db };
    const claimed = { a: 0, b: 0 };
    try {
      for (let round = 0; round < 20; round += 1) {
        const [a, b] = await Promise.all([
          dispatchOnce(dp.ctx, { batchSize: 4 }),
          dispatchOnce(ctxB, { batchSize: 4 }),
        ]);
        // A round claims at most its batch, however the planner joins the claim.
        expect([a.claimed, b.claimed].every((count) => count <= 4)).toBe(true);
        claimed.a += a.claimed;
        claimed.b += b.claimed;
        if (a.claimed + b.claimed === 0) break;
      }
    } finally {
      await other.pool.end();
    }
    expect(claimed.a).toBeGreaterThan(0);
    expect(claimed.b).toBeGreaterThan(0);
    expect(claimed.a + claimed.b).toBe(30);
    const one = receiver.received.filter((r) => r.path === '/one').map((r) => r.headers['webhook-id']);
    const two = receiver.received.filter((r) => r.path === '/two').map((r) => r.headers['webhook-id']);
    expect(one).toHaveLength(30);
    expect(new Set(one).size).toBe(30);
    expect(two).toHaveLength(15);
    expect(new Set(two).size).toBe(15);
    const rows = await deliveries();
    expect(rows).toHaveLength(45);
    expect(rows.every((r) => r.attempt === 1 && r.outcome === 'succeeded')).toBe(true);
    expect(rows.filter((r) => r.endpointId === first.endpoint.id)).toHaveLength(30);
    expect(rows.filter((r) => r.endpointId === second.endpoint.id)).toHaveLength(15);
    expect((await events()).every((e) => e.dispatchedAt !== null)).toBe(true);
  });

  it('a rotated secret signs the next deliveries; a disabled endpoint receives nothing', async () => {
    receiver = await startReceiver();
    const { endpoint, secret } = await createEndpoint(receiver.url());
    const rotated = await dp.app.inject({
      method: 'POST',
      url: `/api/admin/webhooks/${endpoint.id}/rotate-secret`,
      headers: await dp.staffHeaders('owner'),
    });
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.json().secret as string;
    expect(fresh).not.toBe(secret);
    await emit();
    await dispatchOnce(dp.ctx);
    const [request] = receiver.received as [Received];
    const header = {
      timestamp: request.headers['webhook-timestamp'] as string,
      signature: request.headers['webhook-signature'] as string,
    };
    expect(verifyWebhookSignature(fresh, header, request.body)).toBe(true);
    expect(verifyWebhookSignature(secret, header, request.body)).toBe(false);

    const disabled = await dp.app.inject({
      method: 'PATCH',
      url: `/api/admin/webhooks/${endpoint.id}`,
      headers: await dp.staffHeaders('developer'),
      payload: { enabled: false },
    });
    expect(disabled.json().enabled).toBe(false);
    await emit();
    expect(await dispatchOnce(dp.ctx)).toMatchObject({ claimed: 1, dispatched: 1, succeeded: 0 });
    expect(receiver.received).toHaveLength(1);
  });

  it('the interval worker delivers on its own and stops cleanly', async () => {
    receiver = await startReceiver();
    await createEndpoint(receiver.url());
    const worker = startDispatcher(dp.ctx, { intervalMs: 20 });
    await emit();
    const deadline = Date.now() + 5000;
    while (receiver.received.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await worker.stop();
    expect(receiver.received).toHaveLength(1);
    await emit();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received).toHaveLength(1);
  });
});
