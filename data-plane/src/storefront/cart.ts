import type { ServiceContext } from '../context.ts';
import type { I18n } from './i18n/index.ts';
import { variantLabel } from './pages/parts.tsx';
import { cartVariants } from './queries.ts';

/**
 * The cart without JavaScript. With scripts the cart lives in localStorage; a browser without
 * them posts the item page's form to /cart, and the lines are kept in this cookie instead
 * (`<variant id>:<quantity>|…`). The cart page shows them from the catalog, and the script,
 * when it runs later, moves them into localStorage and clears the cookie.
 */
export const CART_COOKIE = 'cart';
const MAX_CART_LINES = 50;
export const MAX_LINE_QUANTITY = 99;
export const CART_COOKIE_SECONDS = 30 * 24 * 3600;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface CartLine {
  variantId: string;
  quantity: number;
}

function quantity(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,4}$/.test(text.trim())) return undefined;
  return Math.min(Number(text), MAX_LINE_QUANTITY);
}

/** The cookie's lines; anything malformed is dropped, not trusted. */
export function readCartCookie(value: string | undefined): CartLine[] {
  const lines: CartLine[] = [];
  for (const entry of (value ?? '').split('|')) {
    const [id, count] = entry.split(':');
    const variantId = id?.toLowerCase() ?? '';
    const amount = quantity(count);
    if (UUID.test(variantId) && amount && !lines.some((line) => line.variantId === variantId)) {
      lines.push({ variantId, quantity: amount });
    }
  }
  return lines.slice(0, MAX_CART_LINES);
}

export function writeCartCookie(lines: CartLine[]): string {
  return lines.map((line) => `${line.variantId}:${line.quantity}`).join('|');
}

/**
 * The cart after one of the no-script forms: the item page's add (`intent=add`, `variant_id`,
 * `quantity`), or the cart page's update (`intent=update`, `quantity.<variant id>` per line)
 * and remove (`remove=<variant id>`, the button pressed).
 */
export function applyCartForm(lines: CartLine[], form: Record<string, string | undefined>): CartLine[] {
  if (form.remove) return lines.filter((line) => line.variantId !== form.remove?.toLowerCase());
  if (form.intent === 'update') {
    return lines
      .map((line) => ({ ...line, quantity: quantity(form[`quantity.${line.variantId}`]) ?? line.quantity }))
      .filter((line) => line.quantity > 0);
  }
  const variantId = form.variant_id?.toLowerCase() ?? '';
  const amount = quantity(form.quantity ?? '1');
  if (!UUID.test(variantId) || !amount) return lines;
  const existing = lines.find((line) => line.variantId === variantId);
  if (existing) {
    return lines.map((line) =>
      line === existing ? { ...line, quantity: Math.min(line.quantity + amount, MAX_LINE_QUANTITY) } : line,
    );
  }
  return [...lines, { variantId, quantity: amount }].slice(0, MAX_CART_LINES);
}

export interface CartLineView {
  variantId: string;
  quantity: number;
  title: string;
  href: string;
  label: string;
  priceMinor: number;
  currency: string;
  image: string | undefined;
  available: number;
}

/** The lines' total, formatted; undefined when they mix currencies (nothing to add up). */
export function cartTotal(lines: readonly CartLineView[], i18n: I18n): string | undefined {
  const currencies = new Set(lines.map((line) => line.currency));
  const [currency] = currencies;
  if (currencies.size !== 1 || !currency) return undefined;
  return i18n.price(
    lines.reduce((sum, line) => sum + line.priceMinor * line.quantity, 0),
    currency,
  );
}

/**
 * The cookie's lines as the cart page shows them, priced from the catalog. Lines the shop no
 * longer sells (archived, gone, or sold on quote) are left out; checkout prices everything again.
 */
export async function cartLineViews(
  ctx: ServiceContext,
  i18n: I18n,
  lines: CartLine[],
): Promise<CartLineView[]> {
  const rows = await cartVariants(
    ctx.db,
    ctx.tenantId,
    lines.map((line) => line.variantId),
  );
  const byId = new Map(rows.map((row) => [row.variantId, row]));
  return lines.flatMap((line) => {
    const row = byId.get(line.variantId);
    if (!row || row.pricingMode === 'quote' || row.priceMinor === null) return [];
    return [
      {
        variantId: line.variantId,
        quantity: line.quantity,
        title: row.title,
        href: `/items/${encodeURIComponent(row.slug)}`,
        label: variantLabel(i18n, row),
        priceMinor: row.priceMinor,
        currency: row.currency,
        image: row.image?.url,
        available: row.available,
      },
    ];
  });
}
