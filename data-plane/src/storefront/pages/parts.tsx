/** @jsxRuntime automatic @jsxImportSource preact */
import type { I18n } from '../i18n/index.ts';

/**
 * A chevron pointing forward in reading order. The stylesheet mirrors it under
 * `[dir=rtl]`, and `back` is the same chevron turned round.
 */
export function Chevron({ direction }: { direction: 'forward' | 'back' }) {
  return (
    <svg
      class={`icon icon-${direction}`}
      viewBox="0 0 16 16"
      width="16"
      height="16"
      aria-hidden="true"
      focusable="false"
    >
      <path d="M6 3l5 5-5 5" fill="none" stroke="currentColor" stroke-width="2" />
    </svg>
  );
}

/** What a product costs as shown to the buyer: a price, "from" a price, or on request. */
export function priceLabel(
  i18n: I18n,
  product: { pricing_mode: 'fixed' | 'quote'; currency: string },
  prices: (number | null)[],
): string {
  const known = prices.filter((price): price is number => price !== null);
  if (product.pricing_mode === 'quote' || known.length === 0) return i18n.t('product.priceOnRequest');
  const lowest = Math.min(...known);
  const price = i18n.price(lowest, product.currency);
  return known.some((other) => other !== lowest) ? i18n.t('product.priceFrom', { price }) : price;
}

/** A variant's name from its options (`size: M, colour: red`), or its SKU when it has none. */
export function variantLabel(i18n: I18n, variant: { sku: string; options: Record<string, string> }): string {
  const options = Object.entries(variant.options);
  return options.length > 0 ? i18n.list(options.map(([name, value]) => `${name}: ${value}`)) : variant.sku;
}
