/** @jsxRuntime automatic @jsxImportSource preact */
import type { AddressRow } from '../../buyers/service.ts';
import type { PaymentRail } from '../../settings/schema.ts';
import { type CartLineView, cartTotal } from '../cart.ts';
import type { AddressField, CheckoutFormValues, FormError } from '../checkout-form.ts';
import type { I18n } from '../i18n/index.ts';
import type { PageContext } from '../page-context.ts';
import { Layout } from './layout.tsx';

export interface CheckoutPageProps {
  page: PageContext;
  /** The cart's lines, priced from the catalog. */
  lines: CartLineView[];
  form: CheckoutFormValues;
  errors: FormError[];
  /** The signed-in buyer (null for a guest). */
  buyer: { email: string | null; addresses: AddressRow[] } | null;
  /** The rails the shop takes at checkout, and the one checked. */
  rails: PaymentRail[];
  rail: PaymentRail | undefined;
  /** Rendered for a GET: the script may load the page again for the localStorage cart. */
  refresh: boolean;
  /** The lines are the no-script cookie cart's: the script moves them into localStorage. */
  cookieLines: boolean;
}

/** Element ids: `checkout-email`, `checkout-line-<variant id>`… (a dot would need escaping in CSS). */
export const fieldId = (field: string) => `checkout-${field.replace('.', '-')}`;
const errorId = (field: string) => `${fieldId(field)}-error`;

const addressInputs: {
  field: AddressField;
  autocomplete: string;
  maxlength: number;
  required?: boolean;
  ltr?: boolean;
}[] = [
  { field: 'recipient_name', autocomplete: 'shipping name', maxlength: 120, required: true },
  { field: 'line1', autocomplete: 'shipping address-line1', maxlength: 200, required: true },
  { field: 'line2', autocomplete: 'shipping address-line2', maxlength: 200 },
  { field: 'city', autocomplete: 'shipping address-level2', maxlength: 120, required: true },
  { field: 'region', autocomplete: 'shipping address-level1', maxlength: 120 },
  { field: 'postal_code', autocomplete: 'shipping postal-code', maxlength: 32, ltr: true },
  { field: 'country', autocomplete: 'shipping country', maxlength: 2, required: true, ltr: true },
  { field: 'phone', autocomplete: 'shipping tel', maxlength: 32, ltr: true },
];

/** The message under a field, referenced by the field's aria-describedby. */
function FieldError({ field, error, i18n }: { field: string; error: FormError | undefined; i18n: I18n }) {
  return error ? (
    <p class="checkout-field-error" id={errorId(field)}>
      {i18n.t(error.message, error.values)}
    </p>
  ) : null;
}

const described = (...ids: (string | false | undefined)[]) => ids.filter(Boolean).join(' ') || undefined;

function savedAddressText(address: AddressRow): string {
  return [
    address.label,
    address.recipientName,
    address.line1,
    address.line2,
    address.city,
    address.region,
    address.postalCode,
    address.country,
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * Checkout: the cart's lines and total (server prices), contact, shipping address, a note and
 * the shop's payment rails, each with what it means for the buyer. The form works without
 * JavaScript; a refused post comes back with the buyer's input, each problem next to its
 * field and all of them in a summary.
 */
export function CheckoutPage(props: CheckoutPageProps) {
  const { page, lines, form, errors, buyer, rails, rail } = props;
  const { i18n } = page;
  const { t } = i18n;
  const byField = new Map<string, FormError>();
  for (const error of errors) if (error.field && !byField.has(error.field)) byField.set(error.field, error);
  const askEmail = !buyer?.email;
  const saved = buyer?.addresses ?? [];
  const rendered = new Set<string>([
    ...lines.map((line) => `line.${line.variantId}`),
    ...(askEmail ? ['email'] : []),
    ...(saved.length > 0 ? ['address_id'] : []),
    ...addressInputs.map((input) => input.field),
    'note',
    ...(rails.length > 0 ? ['rail'] : []),
  ]);
  const total = cartTotal(lines, i18n);

  return (
    <Layout page={page} title={t('checkout.title')} description={t('checkout.title')} noindex>
      <h1>{t('checkout.title')}</h1>
      <div class="checkout" data-checkout-sync={props.refresh ? '' : undefined}>
        {errors.length > 0 ? (
          <div
            class="checkout-error-summary"
            role="alert"
            aria-labelledby="error-summary-title"
            data-testid="error-summary"
          >
            <h2 id="error-summary-title">{t('checkout.errorSummary', { count: errors.length })}</h2>
            <ul>
              {errors.map((error) => (
                <li>
                  {error.field && rendered.has(error.field) ? (
                    <a href={`#${fieldId(error.field)}`}>{t(error.message, error.values)}</a>
                  ) : (
                    t(error.message, error.values)
                  )}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        {lines.length === 0 ? (
          <div class="cart-empty" data-testid="checkout-empty">
            <p>{t('checkout.empty')}</p>
            <p>
              <a href="/">{t('checkout.browse')}</a>
            </p>
          </div>
        ) : (
          <form class="checkout-form" method="post" action="/checkout" data-checkout="">
            <input type="hidden" name="idempotency_key" value={form.idempotencyKey} />
            <section class="checkout-summary" aria-labelledby="checkout-summary-title">
              <h2 id="checkout-summary-title">{t('checkout.summary')}</h2>
              <ul class="checkout-lines" aria-label={t('checkout.lines')}>
                {lines.map((line) => {
                  const field = `line.${line.variantId}`;
                  return (
                    <li
                      class="checkout-line"
                      id={fieldId(field)}
                      data-testid="checkout-line"
                      {...(props.cookieLines
                        ? {
                            'data-cart-line': '',
                            'data-variant-id': line.variantId,
                            'data-quantity': String(line.quantity),
                            'data-title': line.title,
                            'data-href': line.href,
                            'data-label': line.label,
                            'data-price-minor': String(line.priceMinor),
                            'data-currency': line.currency,
                            'data-image': line.image,
                          }
                        : {})}
                    >
                      <input type="hidden" name={field} value={String(line.quantity)} />
                      <span class="checkout-line-text">
                        <a href={line.href} dir="auto">
                          {line.title}
                        </a>
                        <span class="muted">{line.label}</span>
                        <span class="muted">
                          {t('checkout.lineQuantity', {
                            quantity: line.quantity,
                            price: i18n.price(line.priceMinor, line.currency),
                          })}
                        </span>
                      </span>
                      <span class="price" data-testid="checkout-line-total">
                        {i18n.price(line.priceMinor * line.quantity, line.currency)}
                      </span>
                      <FieldError field={field} error={byField.get(field)} i18n={i18n} />
                    </li>
                  );
                })}
              </ul>
              {total ? (
                <p class="subtotal">
                  {t('checkout.total')} <strong data-testid="checkout-total">{total}</strong>
                </p>
              ) : null}
              <p>
                <a href="/cart">{t('checkout.editCart')}</a>
              </p>
            </section>

            <div class="checkout-details">
              <h2>{t('checkout.contact')}</h2>
              {buyer ? null : (
                <p class="note">
                  {t('checkout.haveAccount')}{' '}
                  <a href="/login?next=%2Fcheckout" data-testid="checkout-sign-in">
                    {t('checkout.signIn')}
                  </a>
                </p>
              )}
              {askEmail ? (
                <div class="field">
                  <label for={fieldId('email')}>{t('checkout.email')}</label>
                  <p class="note" id={`${fieldId('email')}-hint`}>
                    {t('checkout.emailHint')}
                  </p>
                  <input
                    type="email"
                    id={fieldId('email')}
                    name="email"
                    value={form.email}
                    autocomplete="email"
                    maxlength={254}
                    required
                    dir="ltr"
                    aria-invalid={byField.has('email') ? 'true' : undefined}
                    aria-describedby={described(
                      `${fieldId('email')}-hint`,
                      byField.has('email') && errorId('email'),
                    )}
                  />
                  <FieldError field="email" error={byField.get('email')} i18n={i18n} />
                </div>
              ) : (
                <p data-testid="signed-in-email">{t('checkout.signedInAs', { email: buyer?.email ?? '' })}</p>
              )}

              <h2>{t('checkout.address')}</h2>
              {saved.length > 0 ? (
                <fieldset
                  class="field choices"
                  id={fieldId('address_id')}
                  aria-describedby={byField.has('address_id') ? errorId('address_id') : undefined}
                >
                  <legend>{t('checkout.savedAddresses')}</legend>
                  <FieldError field="address_id" error={byField.get('address_id')} i18n={i18n} />
                  {saved.map((address) => (
                    <div class="choice">
                      <input
                        type="radio"
                        id={`checkout-address-${address.id}`}
                        name="address_id"
                        value={address.id}
                        checked={form.addressId === address.id}
                      />
                      <label for={`checkout-address-${address.id}`} dir="auto">
                        {savedAddressText(address)}
                      </label>
                    </div>
                  ))}
                  <div class="choice">
                    <input
                      type="radio"
                      id="checkout-address-new"
                      name="address_id"
                      value=""
                      checked={form.addressId === ''}
                    />
                    <label for="checkout-address-new">{t('checkout.newAddress')}</label>
                  </div>
                </fieldset>
              ) : null}
              <div class="address-fields">
                {addressInputs.map((input) => {
                  const id = fieldId(input.field);
                  const error = byField.get(input.field);
                  const hint = input.field === 'country' ? `${id}-hint` : undefined;
                  const attributes = {
                    id,
                    name: input.field,
                    value: form.address[input.field],
                    autocomplete: input.autocomplete,
                    maxlength: input.maxlength,
                    // With saved addresses the typed one is only one of the choices.
                    required: input.required && saved.length === 0,
                    dir: input.ltr ? ('ltr' as const) : ('auto' as const),
                    'aria-invalid': error ? ('true' as const) : undefined,
                    'aria-describedby': described(hint, error && errorId(input.field)),
                  };
                  return (
                    <div class={`field field-${input.field}`}>
                      <label for={id}>{t(`checkout.${input.field}`)}</label>
                      {hint ? (
                        <p class="note" id={hint}>
                          {t('checkout.countryHint')}
                        </p>
                      ) : null}
                      {input.field === 'phone' ? (
                        <input type="tel" {...attributes} />
                      ) : (
                        <input
                          type="text"
                          {...attributes}
                          {...(input.field === 'country' ? { autocapitalize: 'characters' } : {})}
                        />
                      )}
                      <FieldError field={input.field} error={error} i18n={i18n} />
                    </div>
                  );
                })}
              </div>

              <div class="field">
                <label for={fieldId('note')}>{t('checkout.note')}</label>
                <textarea
                  id={fieldId('note')}
                  name="note"
                  rows={3}
                  maxlength={1000}
                  dir="auto"
                  aria-invalid={byField.has('note') ? 'true' : undefined}
                  aria-describedby={byField.has('note') ? errorId('note') : undefined}
                  value={form.note}
                />
                <FieldError field="note" error={byField.get('note')} i18n={i18n} />
              </div>

              <fieldset
                class="field choices rails"
                id={fieldId('rail')}
                aria-describedby={byField.has('rail') ? errorId('rail') : undefined}
              >
                <legend>{t('checkout.payment')}</legend>
                <FieldError field="rail" error={byField.get('rail')} i18n={i18n} />
                {rails.map((option) => (
                  <div class="choice rail-option">
                    <input
                      type="radio"
                      id={`checkout-rail-${option}`}
                      name="rail"
                      value={option}
                      checked={option === rail}
                      required
                      aria-describedby={`checkout-rail-${option}-disclosure`}
                      data-testid="rail-option"
                    />
                    <div>
                      <label for={`checkout-rail-${option}`}>{t(`rail.${option}`)}</label>
                      <p class="note" id={`checkout-rail-${option}-disclosure`}>
                        {t(`rail.${option}.disclosure`)}
                      </p>
                    </div>
                  </div>
                ))}
              </fieldset>
            </div>

            <div class="checkout-submit">
              {total ? (
                <p class="subtotal">
                  {t('checkout.total')} <strong>{total}</strong>
                </p>
              ) : null}
              <button type="submit" class="button" data-testid="place-order">
                {t('checkout.placeOrder')}
              </button>
            </div>
          </form>
        )}
      </div>
    </Layout>
  );
}
