import { type FieldError, problem } from '@amanat/kit/http/problem';
import { and, eq, inArray } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { products, variants } from './schema.ts';

export interface LineRequest {
  variantId: string;
  quantity: number;
}

export interface PricedLine {
  variantId: string;
  sku: string;
  options: Record<string, string>;
  quantity: number;
  productId: string;
  title: string;
  categoryId: string | null;
  pricingMode: 'fixed';
  currency: string;
  /** Server-side unit price in minor units: the variant's own active price. */
  unitPriceMinor: number;
  /** unitPriceMinor × quantity. */
  lineTotalMinor: number;
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** A line above this is a typo or an attack, and would overflow a bigint total long before stock runs out. */
export const MAX_LINE_QUANTITY = 10_000;

/**
 * Prices checkout lines from the catalog, never from the client. Returns one PricedLine per
 * input line, in input order (duplicates are kept; merge them first if you need to).
 * Refuses the whole request with a 400 problem naming every bad line (`${fieldPrefix}.N.variant_id`
 * or `.quantity`): a malformed, unknown, other-tenant or archived variant (or one whose
 * product is archived), a quote-only product, or a quantity outside 1..MAX_LINE_QUANTITY.
 * Foreign and unknown variants get the same message, so nothing leaks across tenants.
 * Pass the transaction that creates the order as `db` to price what that transaction sees.
 */
export async function priceLines(
  db: Queryable,
  tenantId: string,
  lines: readonly LineRequest[],
  fieldPrefix = 'body.lines',
): Promise<PricedLine[]> {
  const errors: FieldError[] = [];
  if (lines.length === 0) errors.push({ field: fieldPrefix, message: 'must contain at least one line' });
  lines.forEach((line, index) => {
    if (typeof line.variantId !== 'string' || !UUID.test(line.variantId)) {
      errors.push({ field: `${fieldPrefix}.${index}.variant_id`, message: 'must be a uuid' });
    }
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_LINE_QUANTITY) {
      errors.push({
        field: `${fieldPrefix}.${index}.quantity`,
        message: `must be an integer from 1 to ${MAX_LINE_QUANTITY}`,
      });
    }
  });
  if (errors.length > 0) throw lineProblem(errors);

  const ids = [...new Set(lines.map((line) => line.variantId.toLowerCase()))];
  const rows = await db
    .select({
      variantId: variants.id,
      sku: variants.sku,
      options: variants.options,
      variantStatus: variants.status,
      variantPrice: variants.priceMinor,
      productId: products.id,
      title: products.title,
      categoryId: products.categoryId,
      productStatus: products.status,
      pricingMode: products.pricingMode,
      currency: products.currency,
    })
    .from(variants)
    .innerJoin(products, and(eq(products.tenantId, variants.tenantId), eq(products.id, variants.productId)))
    .where(and(eq(variants.tenantId, tenantId), inArray(variants.id, ids)));
  const byId = new Map(rows.map((row) => [row.variantId, row]));

  const priced: PricedLine[] = [];
  lines.forEach((line, index) => {
    const field = `${fieldPrefix}.${index}.variant_id`;
    const row = byId.get(line.variantId.toLowerCase());
    if (row?.variantStatus !== 'active' || row.productStatus !== 'active') {
      errors.push({ field, message: 'is not an item this shop currently sells' });
      return;
    }
    if (row.pricingMode === 'quote' || row.variantPrice === null) {
      errors.push({ field, message: `${row.sku} is sold on quote only and cannot be bought at checkout` });
      return;
    }
    priced.push({
      variantId: row.variantId,
      sku: row.sku,
      options: row.options,
      quantity: line.quantity,
      productId: row.productId,
      title: row.title,
      categoryId: row.categoryId,
      pricingMode: 'fixed',
      currency: row.currency,
      unitPriceMinor: row.variantPrice,
      lineTotalMinor: row.variantPrice * line.quantity,
    });
  });
  if (errors.length > 0) throw lineProblem(errors);
  return priced;
}

function lineProblem(errors: FieldError[]) {
  return problem.validation(errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
}
