/** @jsxRuntime automatic @jsxImportSource preact */
import type { storefrontOrderDetail } from '../../orders/access.ts';
import type { orderTransitionsOf } from '../../orders/queries.ts';
import type { I18n } from '../i18n/index.ts';
import type { PageContext } from '../page-context.ts';
import { Layout } from './layout.tsx';
import { variantLabel } from './parts.tsx';

export type OrderView = Awaited<ReturnType<typeof storefrontOrderDetail>>;
type Transition = Awaited<ReturnType<typeof orderTransitionsOf>>[number];

export interface OrderPageProps {
  page: PageContext;
  order: OrderView;
  transitions: Transition[];
  /** For a guest who opened the order with its token: the link to keep (null for the buyer's own). */
  link: string | null;
  /** Right after checkout: thanks the buyer and lets the script empty the localStorage cart. */
  placed: boolean;
}

/** While the order waits for payment, how to pay it (the order page and the confirmation email). */
export function paymentInstructionsText(i18n: I18n, order: OrderView, timeZone: string): string | null {
  const instructions = order.payment_instructions;
  if (!instructions) return null;
  return i18n.t(`order.pay.${order.rail}`, {
    amount: i18n.price(instructions.amount_minor, instructions.currency),
    // Isolated, so a Latin reference keeps its place in a right-to-left sentence.
    reference: `\u2068${instructions.reference}\u2069`,
    deadline: i18n.dateTime(new Date(instructions.pay_before), timeZone),
  });
}

function When({ i18n, at, timeZone }: { i18n: I18n; at: Date; timeZone: string }) {
  return <time datetime={at.toISOString()}>{i18n.dateTime(at, timeZone)}</time>;
}

function AddressBlock({
  i18n,
  address,
}: {
  i18n: I18n;
  address: NonNullable<OrderView['shipping_address']>;
}) {
  const country = new Intl.DisplayNames(i18n.locale, { type: 'region', fallback: 'code' }).of(
    address.country,
  );
  const place = [address.city, address.region, address.postal_code].filter(Boolean).join(' ');
  return (
    <address>
      {[address.recipient_name, address.line1, address.line2, place, country, address.phone]
        .filter((line): line is string => Boolean(line))
        .map((line) => (
          <span class="address-line">{line}</span>
        ))}
    </address>
  );
}

/**
 * One order as its buyer sees it: status and history, what was bought at which prices, the
 * payment rail with its disclosure and, while unpaid, how to pay; delivery, tracking and
 * digital goods; an invoice placeholder.
 */
export function OrderPage({ page, order, transitions, link, placed }: OrderPageProps) {
  const { shop, i18n } = page;
  const { t } = i18n;
  const zone = shop.timezone;
  const instructions = paymentInstructionsText(i18n, order, zone);
  const download = order.digital_delivery;
  // The signed download link, on the storefront's own route (which opens the goods).
  const downloadHref = download
    ? `/orders/${order.id}/download${download.path.slice(download.path.indexOf('?'))}`
    : null;
  const { tracking } = order;
  return (
    <Layout page={page} title={t('order.title')} description={t('order.title')} noindex>
      <h1>{t('order.title')}</h1>
      {placed ? (
        <p class="order-notice" role="status" data-order-placed="" data-testid="order-placed">
          {t('order.placed')}
        </p>
      ) : null}
      {link ? (
        <div class="order-notice order-link">
          <p id="order-link-note">{t('order.keepLink')}</p>
          <label for="order-link">{t('order.link')}</label>
          <input
            id="order-link"
            type="text"
            readonly
            value={link}
            dir="ltr"
            aria-describedby="order-link-note"
            data-testid="order-link"
          />
        </div>
      ) : null}

      <dl class="order-facts">
        <div>
          <dt>{t('order.status')}</dt>
          <dd>
            <strong class="order-status" data-status={order.status} data-testid="order-status">
              {t(`account.status.${order.status}`)}
            </strong>
          </dd>
        </div>
        <div>
          <dt>{t('order.reference')}</dt>
          <dd>
            <bdi dir="ltr" data-testid="order-reference">
              {order.id}
            </bdi>
          </dd>
        </div>
        <div>
          <dt>{t('order.placedOn')}</dt>
          <dd>
            <When i18n={i18n} at={new Date(order.created_at)} timeZone={zone} />
          </dd>
        </div>
      </dl>

      <div class="order-sections">
        <section aria-labelledby="order-items-title">
          <h2 id="order-items-title">{t('order.items')}</h2>
          <ul class="checkout-lines">
            {order.lines.map((line) => (
              <li class="checkout-line" data-testid="order-line">
                <span class="checkout-line-text">
                  <span dir="auto">{line.title}</span>
                  <span class="muted">{variantLabel(i18n, line)}</span>
                  <span class="muted">
                    {t('checkout.lineQuantity', {
                      quantity: line.quantity,
                      price: i18n.price(line.unit_price_minor, order.currency),
                    })}
                  </span>
                </span>
                <span class="price">{i18n.price(line.line_total_minor, order.currency)}</span>
              </li>
            ))}
          </ul>
          <p class="subtotal">
            {t('checkout.total')}{' '}
            <strong data-testid="order-total">{i18n.price(order.total_minor, order.currency)}</strong>
          </p>
        </section>

        <section aria-labelledby="order-payment-title">
          <h2 id="order-payment-title">{t('order.payment')}</h2>
          <p>
            <strong data-testid="order-rail">{t(`rail.${order.rail}`)}</strong>
          </p>
          <p class="note" data-testid="order-disclosure">
            {t(`rail.${order.rail}.disclosure`)}
          </p>
          {instructions ? (
            <p class="order-notice" data-testid="payment-instructions">
              {instructions}
            </p>
          ) : null}
          <h3>{t('order.invoice')}</h3>
          <p class="invoice">
            {/* Invoices are not issued yet: a disabled control and a note say so; no dead link. */}
            <button type="button" class="button-secondary" disabled aria-describedby="invoice-soon">
              {t('order.invoiceButton')}
            </button>
            <span class="note" id="invoice-soon" data-testid="invoice-soon">
              {t('order.invoiceSoon')}
            </span>
          </p>
        </section>

        <section aria-labelledby="order-delivery-title">
          <h2 id="order-delivery-title">{t('order.delivery')}</h2>
          {order.shipping_address ? (
            <>
              <h3>{t('order.shipTo')}</h3>
              <AddressBlock i18n={i18n} address={order.shipping_address} />
            </>
          ) : null}
          {tracking.carrier || tracking.tracking_number ? (
            <dl class="order-facts">
              {tracking.carrier ? (
                <div>
                  <dt>{t('order.carrier')}</dt>
                  <dd dir="auto" data-testid="order-carrier">
                    {tracking.carrier}
                  </dd>
                </div>
              ) : null}
              {tracking.tracking_number ? (
                <div>
                  <dt>{t('order.trackingNumber')}</dt>
                  <dd>
                    <bdi dir="ltr" data-testid="order-tracking-number">
                      {tracking.tracking_number}
                    </bdi>
                  </dd>
                </div>
              ) : null}
            </dl>
          ) : null}
          {tracking.events.length > 0 ? (
            <>
              <h3>{t('order.trackingEvents')}</h3>
              <ol class="timeline" data-testid="tracking-events">
                {[...tracking.events].reverse().map((event) => (
                  <li>
                    <strong>{t(`tracking.${event.status}`)}</strong>{' '}
                    <When i18n={i18n} at={new Date(event.occurred_at)} timeZone={zone} />
                    <span class="muted" dir="auto">
                      {event.location ? `${event.description} — ${event.location}` : event.description}
                    </span>
                  </li>
                ))}
              </ol>
            </>
          ) : (
            <p class="note">{t('order.noTracking')}</p>
          )}
          {download && downloadHref ? (
            <p class="download">
              <a class="button" href={downloadHref} data-testid="order-download">
                {t('order.download')}
              </a>{' '}
              <span class="note">
                {t('order.downloadNote', { date: i18n.dateTime(new Date(download.expires_at), zone) })}
              </span>
            </p>
          ) : null}
        </section>

        <section aria-labelledby="order-history-title">
          <h2 id="order-history-title">{t('order.timeline')}</h2>
          <ol class="timeline" data-testid="order-timeline">
            {transitions.map((transition) => (
              <li data-status={transition.toStatus}>
                <strong>
                  {transition.action === 'submit'
                    ? t('order.timeline.submit')
                    : t(`account.status.${transition.toStatus}`)}
                </strong>{' '}
                <When i18n={i18n} at={transition.at} timeZone={zone} />
              </li>
            ))}
          </ol>
        </section>

        <section aria-labelledby="order-contact-title">
          <h2 id="order-contact-title">{t('order.contact')}</h2>
          <p class="order-email">
            <bdi dir="ltr">{order.email}</bdi>
          </p>
          {order.note ? (
            <>
              <h3>{t('order.note')}</h3>
              <p dir="auto" class="order-note">
                {order.note}
              </p>
            </>
          ) : null}
        </section>
      </div>
    </Layout>
  );
}
