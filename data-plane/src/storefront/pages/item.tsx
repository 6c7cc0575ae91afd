/** @jsxRuntime automatic @jsxImportSource preact */
import type { StorefrontItemRow } from '../../catalog/queries.ts';
import { MAX_LINE_QUANTITY } from '../cart.ts';
import { minorToDecimal } from '../money.ts';
import type { PageContext } from '../page-context.ts';
import { Layout } from './layout.tsx';
import { Chevron, priceLabel, variantLabel } from './parts.tsx';

const DESCRIPTION_LENGTH = 160;

/** For meta description: the text on one line, cut at a word near 160 characters. */
function summary(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= DESCRIPTION_LENGTH) return flat;
  const cut = flat.slice(0, DESCRIPTION_LENGTH);
  return `${cut.slice(0, cut.lastIndexOf(' ') > 80 ? cut.lastIndexOf(' ') : cut.length)}…`;
}

/**
 * One product: gallery, price, stock, seller, and an add-to-cart form that works without
 * JavaScript (radio buttons for variants, posted to /cart); the script turns the same form
 * into an in-page add to the cart kept in localStorage.
 */
export function ItemPage({ page, item }: { page: PageContext; item: StorefrontItemRow }) {
  const { shop, i18n } = page;
  const { t } = i18n;
  const quote = item.pricing_mode === 'quote';
  const buyable = item.variants.filter(
    (variant) => !quote && variant.price_minor !== null && variant.available > 0,
  );
  const chosen = buyable[0] ?? item.variants[0];
  const available = buyable.reduce((sum, variant) => sum + variant.available, 0);
  const stock =
    available === 0
      ? t('stock.out')
      : available <= shop.lowStockThreshold
        ? t('stock.low', { count: available })
        : t('stock.in');
  const prices = item.variants.map((variant) => variant.price_minor);
  const lowest = quote
    ? null
    : prices.reduce<number | null>(
        (low, price) => (price !== null && (low === null || price < low) ? price : low),
        null,
      );
  const path = `/items/${encodeURIComponent(item.slug)}`;
  const paragraphs = item.description.split(/\n\s*\n/).filter((text) => text.trim() !== '');
  const variantData = (variant: StorefrontItemRow['variants'][number]) => ({
    'data-label': variantLabel(i18n, variant),
    'data-price-minor': variant.price_minor === null ? undefined : String(variant.price_minor),
  });
  return (
    <Layout
      page={page}
      title={item.title}
      description={summary(item.description) || item.title}
      canonicalPath={path}
      ogType="product"
      image={item.images[0]}
      og={
        lowest === null
          ? {}
          : {
              'product:price:amount': minorToDecimal(lowest, item.currency),
              'product:price:currency': item.currency,
            }
      }
    >
      <nav class="breadcrumb" aria-label={t('item.breadcrumb')}>
        <ol>
          <li>
            <a href="/">{t('nav.catalog')}</a>
          </li>
          {item.category_path.map((category) => (
            <li>
              <Chevron direction="forward" />
              <a href={`/?category=${encodeURIComponent(category.slug)}`}>{category.name}</a>
            </li>
          ))}
        </ol>
      </nav>
      <article class="item" data-testid="item">
        <div class="gallery">
          {item.images.length > 0 ? (
            <ul aria-label={t('item.gallery')}>
              {item.images.map((image, index) => (
                <li>
                  <img
                    src={image.url}
                    alt={image.alt}
                    loading={index === 0 ? 'eager' : 'lazy'}
                    decoding="async"
                  />
                </li>
              ))}
            </ul>
          ) : (
            <p class="placeholder">{t('item.noImage')}</p>
          )}
        </div>
        <div class="details">
          {/* The shop's own words may be in another script than the page: let each set its direction. */}
          <h1 dir="auto">{item.title}</h1>
          <p class="seller">{t('item.soldBy', { seller: shop.name })}</p>
          <p class="price" data-testid="price">
            {priceLabel(i18n, item, prices)}
          </p>
          <p class={`stock${available === 0 ? ' stock-out' : ''}`} data-testid="stock-state">
            {stock}
          </p>
          {quote ? <p class="note">{t('item.quoteNote')}</p> : null}
          {quote || !chosen ? null : (
            <form
              class="add-to-cart"
              method="post"
              action="/cart"
              data-add-to-cart
              data-title={item.title}
              data-href={path}
              data-currency={item.currency}
              data-image={item.images[0]?.url}
            >
              <input type="hidden" name="intent" value="add" />
              {item.variants.length > 1 ? (
                <fieldset class="variants">
                  <legend>{t('item.options')}</legend>
                  {item.variants.map((variant) => {
                    const canBuy = buyable.includes(variant);
                    return (
                      <div class="variant">
                        <input
                          type="radio"
                          id={`variant-${variant.id}`}
                          name="variant_id"
                          value={variant.id}
                          checked={variant === chosen}
                          disabled={!canBuy}
                          data-testid="variant-option"
                          {...variantData(variant)}
                        />
                        <label for={`variant-${variant.id}`}>
                          <span>{variantLabel(i18n, variant)}</span>
                          <span class="variant-price">
                            {variant.price_minor === null
                              ? t('product.priceOnRequest')
                              : i18n.price(variant.price_minor, item.currency)}
                          </span>
                          {variant.available > 0 ? null : <span class="stock-out">{t('stock.out')}</span>}
                        </label>
                      </div>
                    );
                  })}
                </fieldset>
              ) : (
                <input type="hidden" name="variant_id" value={chosen.id} {...variantData(chosen)} />
              )}
              <div class="field field-quantity">
                <label for="quantity">{t('item.quantity')}</label>
                <input
                  id="quantity"
                  name="quantity"
                  type="number"
                  inputmode="numeric"
                  min="1"
                  max={String(MAX_LINE_QUANTITY)}
                  value="1"
                  required
                />
              </div>
              <button type="submit" class="button" data-testid="add-to-cart" disabled={buyable.length === 0}>
                {t('item.addToCart')}
              </button>
              <p class="status" role="status" data-cart-status data-added={t('item.added')} />
            </form>
          )}
          {paragraphs.length > 0 ? (
            <section class="description" aria-label={t('item.description')}>
              {paragraphs.map((text) => (
                <p dir="auto">{text.trim()}</p>
              ))}
            </section>
          ) : null}
        </div>
      </article>
    </Layout>
  );
}
