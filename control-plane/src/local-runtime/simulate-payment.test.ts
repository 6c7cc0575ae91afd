import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, signEvidence, TIMESTAMP_HEADER } from '@amanat/kit/payments/evidence-signature';
import { and, eq } from 'drizzle-orm';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { generateSigningKeyJson, loadSigningKey } from '../data-plane-access/signing.ts';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../testing/harness.ts';
import { type LocalDataPlanes, simulatedPaymentRoutes } from './simulate-payment.ts';

/**
 * The admin's "simulate payment" against a stand-in data plane that checks what a real one
 * checks: the staff token (audience, role) on the order read, the evidence signature, and
 * that an order is paid once. The whole path through a real data plane runs in
 * e2e/src/local/local-platform.browser.test.ts.
 */

const EVIDENCE_SECRET = 'simulated-evidence-secret-0123456789abcdef';

interface FakeOrder {
  id: string;
  status: string;
  rail: string;
  total_minor: number;
  currency: string;
}

let cp: TestControlPlane;
let admin: SignedIn;
let seller: SignedIn;
let shop: { id: string; slug: string };
let stoppedShop: { id: string };
let dataPlane: Server;
let dataPlaneUrl: string;
const orders = new Map<string, FakeOrder>();
const evidenceReceived: Record<string, unknown>[] = [];
const tokenRoles: unknown[] = [];

const problemJson = (status: number, detail: string) =>
  JSON.stringify({ type: '/problems/x', title: 'x', status, detail });

async function bodyOf(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
}

function order(overrides: Partial<FakeOrder> = {}): FakeOrder {
  const created = {
    id: randomUUID(),
    status: 'pending_payment',
    rail: 'amn_escrow',
    total_minor: 4200,
    currency: 'USD',
    ...overrides,
  };
  orders.set(created.id, created);
  return created;
}

beforeAll(async () => {
  const signingKeyJson = await generateSigningKeyJson('sim-test');
  const signingKey = await loadSigningKey(signingKeyJson);
  const jwks = createLocalJWKSet({ keys: [signingKey.publicJwk] });
  dataPlane = createServer(async (request, response) => {
    const send = (status: number, body: string) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body);
    };
    const orderRead = request.url?.match(/^\/api\/admin\/orders\/([0-9a-f-]+)$/);
    if (request.method === 'GET' && orderRead) {
      try {
        const { payload } = await jwtVerify(
          request.headers.authorization?.slice('Bearer '.length) ?? '',
          jwks,
          {
            audience: `tenant:${shop.id}`,
          },
        );
        tokenRoles.push(payload.role);
      } catch {
        return send(401, problemJson(401, 'bad staff token'));
      }
      const found = orders.get(orderRead[1] as string);
      return found ? send(200, JSON.stringify(found)) : send(404, problemJson(404, 'no such order'));
    }
    if (request.method === 'POST' && request.url === '/api/payments/evidence') {
      const raw = await bodyOf(request);
      const timestamp = Number(request.headers[TIMESTAMP_HEADER]);
      const expected = Buffer.from(signEvidence(EVIDENCE_SECRET, timestamp, raw));
      const given = Buffer.from(String(request.headers[SIGNATURE_HEADER]));
      if (expected.length !== given.length || !timingSafeEqual(expected, given))
        return send(401, problemJson(401, 'bad signature'));
      const evidence = JSON.parse(raw) as { order_id: string; amount_minor: number };
      evidenceReceived.push(evidence);
      const paying = orders.get(evidence.order_id);
      if (!paying) return send(404, problemJson(404, 'no such order'));
      if (paying.status !== 'pending_payment')
        return send(409, problemJson(409, `Cannot fund_escrow an order that is ${paying.status}.`));
      paying.status = paying.rail === 'amn_escrow' ? 'escrow_funded' : 'paid_direct';
      return send(
        200,
        JSON.stringify({ order_id: paying.id, status: paying.status, rail: paying.rail, escrow: null }),
      );
    }
    send(404, problemJson(404, 'no route'));
  });
  await new Promise<void>((resolve) => dataPlane.listen(0, '127.0.0.1', resolve));
  dataPlaneUrl = `http://127.0.0.1:${(dataPlane.address() as AddressInfo).port}`;

  const dataPlanes: LocalDataPlanes = {
    tenantEndpoint: async (tenantId) =>
      tenantId === shop.id ? { url: dataPlaneUrl, paymentEvidenceSecret: EVIDENCE_SECRET } : null,
  };
  cp = await startTestControlPlane(
    { DATA_PLANE_SIGNING_KEY: signingKeyJson },
    { localRoutes: (app, ctx) => simulatedPaymentRoutes(app, ctx, dataPlanes, signingKey) },
  );
  [admin, seller] = await Promise.all([cp.admin(), cp.register('seller')]);
  shop = await cp.activeTenant(seller, admin);
  stoppedShop = await cp.activeTenant(seller, admin);
});

afterAll(async () => {
  await cp?.close();
  await new Promise((resolve) => dataPlane?.close(resolve));
});

const simulate = (tenantId: string, orderId: string, headers = admin.headers) =>
  cp.app.inject({
    method: 'POST',
    url: `/admin/tenants/${tenantId}/orders/${orderId}/simulate-payment`,
    headers,
  });

describe('POST /admin/tenants/:tenantId/orders/:orderId/simulate-payment', () => {
  it("pays the order's full total with evidence signed by the tenant's secret, and audits it", async () => {
    const pending = order({ total_minor: 12_345, currency: 'EUR' });
    const response = await simulate(shop.id, pending.id);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ order_id: pending.id, status: 'escrow_funded', rail: 'amn_escrow' });
    expect(evidenceReceived.at(-1)).toMatchObject({
      order_id: pending.id,
      rail: 'amn_escrow',
      amount_minor: 12_345,
      currency: 'EUR',
    });
    // The order was read with the least role that may read orders, never as the owner.
    expect(tokenRoles.at(-1)).toBe('finance');
    const [audit] = await cp.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'order.payment_simulated'), eq(auditLog.targetId, pending.id)));
    expect(audit).toMatchObject({
      actorId: admin.id,
      tenantId: shop.id,
      targetType: 'order',
      before: { status: 'pending_payment' },
      after: { status: 'escrow_funded', rail: 'amn_escrow', amount_minor: 12_345, currency: 'EUR' },
    });
  });

  it('answers 409 with the shop’s reason when the data plane refuses (already paid), and audits nothing', async () => {
    const paid = order({ status: 'escrow_funded' });
    const before = await cp.auditCount();
    const response = await simulate(shop.id, paid.id);
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json()).toMatchObject({
      type: '/problems/payment-refused',
      detail: 'The shop refused the payment: Cannot fund_escrow an order that is escrow_funded.',
      current_status: 'escrow_funded',
    });
    expect(await cp.auditCount()).toBe(before);
  });

  it('answers 409 for a rail the scanner does not pay, without posting evidence', async () => {
    const invoiced = order({ rail: 'manual_invoice' });
    const posted = evidenceReceived.length;
    const response = await simulate(shop.id, invoiced.id);
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json().type).toBe('/problems/rail-not-simulated');
    expect(evidenceReceived).toHaveLength(posted);
  });

  it('answers 404 for an unknown tenant or order, and 409 for a tenant with no running data plane', async () => {
    const pending = order();
    expect((await simulate(randomUUID(), pending.id)).statusCode).toBe(404);
    const unknownOrder = await simulate(shop.id, randomUUID());
    expect(unknownOrder.statusCode, unknownOrder.body).toBe(404);
    const stopped = await simulate(stoppedShop.id, pending.id);
    expect(stopped.statusCode, stopped.body).toBe(409);
    expect(stopped.json().type).toBe('/problems/data-plane-not-running');
    expect(orders.get(pending.id)?.status).toBe('pending_payment');
  });

  it('is for platform admins only', async () => {
    const pending = order();
    expect((await simulate(shop.id, pending.id, seller.headers)).statusCode).toBe(403);
    expect((await simulate(shop.id, pending.id, {} as SignedIn['headers'])).statusCode).toBe(401);
    expect(orders.get(pending.id)?.status).toBe('pending_payment');
  });

  it('does not exist in a control plane without the local runtime (production)', async () => {
    const production = await startTestControlPlane();
    try {
      const signedIn = await production.admin();
      const response = await production.app.inject({
        method: 'POST',
        url: `/admin/tenants/${shop.id}/orders/${randomUUID()}/simulate-payment`,
        headers: signedIn.headers,
      });
      expect(response.statusCode).toBe(404);
      const document = (await production.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(Object.keys(document.paths).filter((path) => path.includes('simulate-payment'))).toEqual([]);
    } finally {
      await production.close();
    }
  });
});
