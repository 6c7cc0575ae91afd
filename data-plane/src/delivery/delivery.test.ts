import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminPost, createVariant, payOrder, placeOrder } from '../orders/fixtures.ts';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { signedDownloadLink } from './service.ts';

let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

async function paidOrder(rail = 'amn_direct') {
  const variant = await createVariant(dp);
  const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }], rail });
  await payOrder(dp, order);
  return order;
}

describe('delivery', () => {
  it('manual tracking updates build a timeline the buyer sees; carrier and number can change', async () => {
    const order = await paidOrder();
    await adminPost(dp, order.id, 'start-fulfillment', { note: 'Packing' }, 'support');
    const added = await adminPost(dp, order.id, 'tracking', {
      status: 'in_transit',
      description: 'Left the depot',
      location: 'Tehran',
      carrier: 'Post',
      tracking_number: 'RR123',
      occurred_at: '2030-01-01T10:00:00Z',
    });
    expect(added.statusCode).toBe(200);
    await adminPost(dp, order.id, 'confirm-delivery', { note: 'Signed by Sara' });
    const view = (
      await dp.app.inject({
        method: 'GET',
        url: `/api/storefront/orders/${order.id}`,
        headers: { 'x-order-token': order.access_token },
      })
    ).json();
    expect(view.status).toBe('delivered');
    expect(view.tracking.carrier).toBe('Post');
    expect(view.tracking.events.map((e: { status: string }) => e.status)).toEqual([
      'note',
      'delivered',
      'in_transit',
    ]);
    const completed = await adminPost(dp, order.id, 'complete', {});
    expect(completed.json().status).toBe('completed');
  });

  it('tracking on an unpaid order → 409', async () => {
    const variant = await createVariant(dp);
    const order = await placeOrder(dp, { lines: [{ variant_id: variant, quantity: 1 }] });
    const response = await adminPost(dp, order.id, 'tracking', { status: 'note', description: 'x' });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ current_status: 'pending_payment' });
  });

  it('digital delivery: a signed link opens the goods; forged, altered or expired links → 403', async () => {
    const order = await paidOrder('amn_escrow');
    const set = await adminPost(dp, order.id, 'digital-delivery', {
      url: 'https://files.example.com/book.pdf',
      note: 'Enjoy',
    });
    expect(set.statusCode).toBe(200);
    const view = (
      await dp.app.inject({
        method: 'GET',
        url: `/api/storefront/orders/${order.id}`,
        headers: { 'x-order-token': order.access_token },
      })
    ).json();
    const path: string = view.digital_delivery.path;
    const ok = await dp.app.inject({ method: 'GET', url: path });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ url: 'https://files.example.com/book.pdf', note: 'Enjoy' });

    const url = new URL(path, 'https://shop.example.com');
    const expires = Number(url.searchParams.get('expires'));
    const sig = url.searchParams.get('sig') as string;
    const forged = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [
      `/api/storefront/orders/${order.id}/download?expires=${expires}&sig=${forged}`,
      `/api/storefront/orders/${order.id}/download?expires=${expires + 3600}&sig=${sig}`,
    ]) {
      const response = await dp.app.inject({ method: 'GET', url: bad });
      expect(response.statusCode).toBe(403);
      expect(response.json().type).toBe('/problems/bad-link');
    }
    const old = signedDownloadLink(dp.ctx, order.id, new Date(Date.now() - 2 * 24 * 3600_000));
    const expired = await dp.app.inject({ method: 'GET', url: old.path });
    expect(expired.statusCode).toBe(403);
    expect(expired.json().type).toBe('/problems/link-expired');
  });

  it('a valid link for an order with no digital goods → 404', async () => {
    const order = await paidOrder();
    const link = signedDownloadLink(dp.ctx, order.id);
    expect((await dp.app.inject({ method: 'GET', url: link.path })).statusCode).toBe(404);
  });
});
