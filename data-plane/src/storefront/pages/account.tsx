/** @jsxRuntime automatic @jsxImportSource preact */
import type { AddressRow, BuyerRow } from '../../buyers/service.ts';
import type { buyerOrderSummary } from '../../orders/queries.ts';
import type { MessageKey } from '../i18n/en.ts';
import { linkTo, type PageContext } from '../page-context.ts';
import { addressMaxLength, ErrorSummary, Field, type FormState } from './account-forms.tsx';
import { Layout } from './layout.tsx';
import { Chevron } from './parts.tsx';

export type OrderSummary = ReturnType<typeof buyerOrderSummary>;

/** The confirmations a form's redirect back to the account page may ask for (`?done=`). */
export const accountNotices = {
  'address-added': 'account.notice.addressAdded',
  'address-deleted': 'account.notice.addressDeleted',
  'marketing-on': 'account.notice.marketingOn',
  'marketing-off': 'account.notice.marketingOff',
} as const satisfies Record<string, MessageKey>;
export type AccountNotice = keyof typeof accountNotices;

export interface AccountProps {
  page: PageContext;
  buyer: BuyerRow;
  orders: { items: OrderSummary[]; page: number; pages: number };
  addresses: AddressRow[];
  addressForm: FormState;
  notice: AccountNotice | undefined;
}

/** A short reference a buyer can read out: the order id's first block. */
const orderRef = (id: string) => id.slice(0, 8).toUpperCase();

function Orders({ page, orders }: { page: PageContext; orders: AccountProps['orders'] }) {
  const { i18n, shop } = page;
  const { t } = i18n;
  return (
    <section class="account-section" aria-labelledby="orders-title" id="orders">
      <h2 id="orders-title">{t('account.orders')}</h2>
      {orders.items.length === 0 ? (
        <p data-testid="orders-empty">{t('account.ordersEmpty')}</p>
      ) : (
        <ul class="account-orders">
          {orders.items.map((order) => (
            <li class="account-order" data-testid="account-order" data-order-id={order.id}>
              <a href={`/orders/${order.id}`}>{t('account.order', { ref: orderRef(order.id) })}</a>
              <span class="muted">
                {t('account.orderPlaced', {
                  date: i18n.dateTime(new Date(order.created_at), shop.timezone),
                })}
              </span>
              <span
                class={`account-order-status account-order-status-${order.status}`}
                data-testid="account-order-status"
              >
                {t(`account.status.${order.status}`)}
              </span>
              <span>
                {t('account.orderItems', { count: order.item_count })}
                {' · '}
                <strong>{i18n.price(order.total_minor, order.currency)}</strong>
              </span>
            </li>
          ))}
        </ul>
      )}
      {orders.pages > 1 ? (
        <nav class="pagination" aria-label={t('account.ordersPages')}>
          {orders.page > 1 ? (
            <a rel="prev" href={linkTo('/account', { page: String(orders.page - 1) })}>
              <Chevron direction="back" />
              {t('pagination.previous')}
            </a>
          ) : null}
          <span aria-current="page">
            {t('pagination.status', { page: orders.page, pages: orders.pages })}
          </span>
          {orders.page < orders.pages ? (
            <a rel="next" href={linkTo('/account', { page: String(orders.page + 1) })}>
              {t('pagination.next')}
              <Chevron direction="forward" />
            </a>
          ) : null}
        </nav>
      ) : null}
    </section>
  );
}

function AddressText({ address }: { address: AddressRow }) {
  const lines = [
    address.recipientName,
    address.line1,
    address.line2,
    [address.city, address.region, address.postalCode].filter(Boolean).join(', '),
    address.country,
    address.phone,
  ].filter((line): line is string => Boolean(line));
  return (
    <address>
      {/* Each line keeps its own direction: a Latin street in a Persian page reads left to right. */}
      {lines.map((line, index) => (
        <>
          {index > 0 ? <br /> : null}
          <bdi>{line}</bdi>
        </>
      ))}
    </address>
  );
}

function Addresses({
  page,
  addresses,
  form,
}: {
  page: PageContext;
  addresses: AddressRow[];
  form: FormState;
}) {
  const { t } = page.i18n;
  const field = { form: 'address', state: form };
  const optional = t('account.optional');
  return (
    <section class="account-section" aria-labelledby="addresses-title" id="addresses">
      <h2 id="addresses-title">{t('account.addresses')}</h2>
      {addresses.length === 0 ? (
        <p>{t('account.addressesEmpty')}</p>
      ) : (
        <ul class="account-addresses">
          {addresses.map((address) => (
            <li class="account-address" data-testid="account-address" data-address-id={address.id}>
              {address.label || address.isDefault ? (
                <p class="account-address-label">
                  {address.label ? <strong>{address.label}</strong> : null}
                  {address.isDefault ? (
                    <span class="account-badge">{t('account.addressDefault')}</span>
                  ) : null}
                </p>
              ) : null}
              <AddressText address={address} />
              <form method="post" action={`/account/addresses/${address.id}/delete`}>
                <button type="submit" class="link-button">
                  {t('account.addressDelete')}
                  <span class="visually-hidden">
                    {' '}
                    {t('account.addressDeleteWhich', { name: address.label ?? address.recipientName })}
                  </span>
                </button>
              </form>
            </li>
          ))}
        </ul>
      )}
      <h3 id="add-address-title">{t('account.addAddress')}</h3>
      <ErrorSummary i18n={page.i18n} form="address" problems={form.problems} />
      <form
        class="account-form account-address-form"
        method="post"
        action="/account/addresses"
        aria-labelledby="add-address-title"
        novalidate
      >
        <Field
          {...field}
          name="label"
          label={t('account.address.label')}
          note={optional}
          maxLength={addressMaxLength('label')}
        />
        <Field
          {...field}
          name="recipient_name"
          label={t('account.address.recipient')}
          autocomplete="name"
          required
          maxLength={addressMaxLength('recipient_name')}
        />
        <Field
          {...field}
          name="line1"
          label={t('account.address.line1')}
          autocomplete="address-line1"
          required
          maxLength={addressMaxLength('line1')}
        />
        <Field
          {...field}
          name="line2"
          label={t('account.address.line2')}
          note={optional}
          autocomplete="address-line2"
          maxLength={addressMaxLength('line2')}
        />
        <Field
          {...field}
          name="city"
          label={t('account.address.city')}
          autocomplete="address-level2"
          required
          maxLength={addressMaxLength('city')}
        />
        <Field
          {...field}
          name="region"
          label={t('account.address.region')}
          note={optional}
          autocomplete="address-level1"
          maxLength={addressMaxLength('region')}
        />
        <Field
          {...field}
          name="postal_code"
          label={t('account.address.postalCode')}
          note={optional}
          autocomplete="postal-code"
          dir="ltr"
        />
        <Field
          {...field}
          name="country"
          label={t('account.address.country')}
          hint={t('account.address.countryHint')}
          autocomplete="country"
          dir="ltr"
          required
        />
        <Field
          {...field}
          name="phone"
          type="tel"
          label={t('account.address.phone')}
          note={optional}
          autocomplete="tel"
          dir="ltr"
        />
        <div class="field account-check">
          <input
            id="address-is-default"
            name="is_default"
            type="checkbox"
            value="on"
            checked={form.values.is_default === 'on'}
          />
          <label for="address-is-default">{t('account.address.makeDefault')}</label>
        </div>
        <button type="submit">{t('account.address.save')}</button>
      </form>
    </section>
  );
}

function Marketing({ page, buyer }: { page: PageContext; buyer: BuyerRow }) {
  const { t } = page.i18n;
  return (
    <section class="account-section" aria-labelledby="marketing-title" id="marketing">
      <h2 id="marketing-title">{t('account.marketing')}</h2>
      <form method="post" action="/account/marketing">
        <p data-testid="marketing-state">
          {t(buyer.marketingOptIn ? 'account.marketingOn' : 'account.marketingOff')}
        </p>
        <input type="hidden" name="marketing_opt_in" value={buyer.marketingOptIn ? 'false' : 'true'} />
        <button type="submit" class="button-secondary" data-testid="marketing-toggle">
          {t(buyer.marketingOptIn ? 'account.marketingStop' : 'account.marketingStart')}
        </button>
      </form>
    </section>
  );
}

/** The signed-in buyer's page: their orders, saved addresses and email choices, and sign-out. */
export function AccountPage(props: AccountProps) {
  const { page, buyer } = props;
  const { t } = page.i18n;
  const name = buyer.displayName ?? buyer.email;
  return (
    <Layout page={page} title={t('account.title')} description={t('account.title')} noindex>
      <div class="account-head">
        <div>
          <h1>{t('account.title')}</h1>
          {name ? (
            <p class="muted" data-testid="signed-in-as">
              {t('account.signedInAs', { name })}
            </p>
          ) : null}
        </div>
        <form method="post" action="/logout">
          <button type="submit" class="button-secondary" data-testid="logout">
            {t('account.logout')}
          </button>
        </form>
      </div>
      <p class="account-notice" role="status" data-testid="account-notice">
        {props.notice ? t(accountNotices[props.notice]) : null}
      </p>
      <Orders page={page} orders={props.orders} />
      <Addresses page={page} addresses={props.addresses} form={props.addressForm} />
      <Marketing page={page} buyer={buyer} />
    </Layout>
  );
}
