/** @jsxRuntime automatic @jsxImportSource preact */
import { type CartLineView, cartTotal, MAX_LINE_QUANTITY } from '../cart.ts';
import type { I18n } from '../i18n/index.ts';
import type { PageContext } from '../page-context.ts';
import { Layout } from './layout.tsx';

/**
 * One cart line. The server renders it for cookie carts, and once more, empty, inside a
 * <template> that the script fills (text and attributes only) for the localStorage cart.
 */
function CartLineItem({ i18n, line }: { i18n: I18n; line: CartLineView | undefined }) {
  const { t } = i18n;
  const id = line ? `quantity-${line.variantId}` : undefined;
  return (
    <li
      class="cart-line"
      data-cart-line
      data-testid="cart-line"
      data-variant-id={line?.variantId}
      data-quantity={line ? String(line.quantity) : undefined}
      data-title={line?.title}
      data-href={line?.href}
      data-label={line?.label}
      data-price-minor={line ? String(line.priceMinor) : undefined}
      data-currency={line?.currency}
      data-image={line?.image}
    >
      {/* Decorative: the title beside it names the item. The template keeps the <img> for the script. */}
      {!line || line.image ? (
        <img class="cart-thumb" src={line?.image} alt="" data-field="image" />
      ) : (
        <span class="cart-thumb" />
      )}
      <div class="cart-line-text">
        <a href={line?.href} data-field="title">
          {line?.title}
        </a>
        <span class="muted" data-field="label">
          {line?.label}
        </span>
        <span class="price" data-field="price" data-testid="cart-line-price">
          {line ? i18n.price(line.priceMinor, line.currency) : null}
        </span>
      </div>
      <label
        class="visually-hidden"
        for={id}
        data-field="quantity-label"
        data-template={t('cart.quantityOf', { item: '{item}' })}
      >
        {line ? t('cart.quantityOf', { item: line.title }) : null}
      </label>
      <input
        class="cart-quantity"
        id={id}
        name={line ? `quantity.${line.variantId}` : undefined}
        type="number"
        inputmode="numeric"
        min="0"
        max={String(MAX_LINE_QUANTITY)}
        value={line ? String(line.quantity) : '1'}
        data-field="quantity"
        data-testid="cart-line-quantity"
      />
      <button type="submit" class="link-button" name="remove" value={line?.variantId} data-field="remove">
        {t('cart.remove')}
      </button>
    </li>
  );
}

/**
 * The cart: server-rendered lines from the no-script cookie cart (or the empty state), a
 * <noscript> note, and the template the script renders the localStorage cart with.
 */
export function CartPage({ page, lines }: { page: PageContext; lines: CartLineView[] }) {
  const { i18n } = page;
  const { t } = i18n;
  const subtotal = cartTotal(lines, i18n);
  return (
    <Layout page={page} title={t('cart.title')} description={t('cart.title')} noindex>
      <h1>{t('cart.title')}</h1>
      <div class="cart" data-cart>
        <form class="cart-form" method="post" action="/cart" data-cart-form hidden={lines.length === 0}>
          <ul class="cart-lines" aria-label={t('cart.lines')} data-cart-lines>
            {lines.map((line) => (
              <CartLineItem i18n={i18n} line={line} />
            ))}
          </ul>
          <p class="subtotal" data-cart-subtotal-row hidden={subtotal === undefined}>
            {t('cart.subtotal')}{' '}
            <strong data-cart-subtotal data-testid="cart-subtotal">
              {subtotal}
            </strong>
          </p>
          <p class="note">{t('cart.pricesNote')}</p>
          <div class="cart-actions">
            <button type="submit" class="button-secondary" name="intent" value="update" data-no-script>
              {t('cart.update')}
            </button>
            <a class="button" href="/checkout" data-testid="checkout-link">
              {t('cart.checkout')}
            </a>
          </div>
        </form>
        <div class="cart-empty" data-cart-empty data-testid="cart-empty" hidden={lines.length > 0}>
          <p>{t('cart.empty')}</p>
          <p>
            <a href="/">{t('cart.continue')}</a>
          </p>
        </div>
        <noscript>
          <p class="note">{t('cart.noscript')}</p>
        </noscript>
        <template id="cart-line-template">
          <CartLineItem i18n={i18n} line={undefined} />
        </template>
      </div>
    </Layout>
  );
}
