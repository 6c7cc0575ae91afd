import { expect } from 'vitest';
import type { TestDataPlane } from '../testing/harness.ts';

/** Test helpers for the catalog: create through the admin API, as the dashboard would. */
export async function createCategory(
  dp: TestDataPlane,
  body: { name: string; slug: string; parent_id?: string | null },
): Promise<{ id: string; slug: string }> {
  const response = await dp.app.inject({
    method: 'POST',
    url: '/api/admin/categories',
    headers: await dp.staffHeaders('owner'),
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

export interface VariantInput {
  sku: string;
  options?: Record<string, string>;
  price_minor?: number | null;
  status?: 'active' | 'archived';
  stock?: number;
}

export async function createProduct(
  dp: TestDataPlane,
  body: Record<string, unknown> & { slug: string; title: string; variants: VariantInput[] },
) {
  const response = await dp.app.inject({
    method: 'POST',
    url: '/api/admin/products',
    headers: await dp.staffHeaders('owner'),
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as {
    id: string;
    slug: string;
    price_minor: number | null;
    variants: { id: string; sku: string; price_minor: number | null }[];
  };
}
