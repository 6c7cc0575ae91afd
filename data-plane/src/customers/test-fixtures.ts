import { randomUUID } from 'node:crypto';
import { type OrderStatus, orders } from '../orders/schema.ts';
import type { TestDataPlane } from '../testing/harness.ts';

/** An order row written directly (tests of read models: customers, overview). */
export async function insertOrder(
  target: TestDataPlane,
  values: {
    status: OrderStatus;
    total: number;
    createdAt: Date;
    buyerId?: string | null;
    currency?: string;
    tenantId?: string;
  },
) {
  await target.db.insert(orders).values({
    tenantId: values.tenantId ?? target.tenantId,
    status: values.status,
    rail: 'amn_direct',
    railDisclosure: 'paid through the shop',
    currency: values.currency ?? 'USD',
    subtotalMinor: values.total,
    totalMinor: values.total,
    itemCount: 1,
    buyerId: values.buyerId ?? null,
    accessTokenHash: values.buyerId ? null : randomUUID().replaceAll('-', ''),
    email: 'someone@example.com',
    expiresAt: new Date(values.createdAt.getTime() + 1800_000),
    createdAt: values.createdAt,
  });
}
