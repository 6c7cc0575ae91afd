/** @jsxRuntime automatic @jsxImportSource preact */
import { type I18n, i18n as i18nFor, type Locale } from '../storefront/i18n/index.ts';
import { orderPageUrl, type ShopView } from '../storefront/page-context.ts';
import { type OrderView, paymentInstructionsText } from '../storefront/pages/order.tsx';
import { variantLabel } from '../storefront/pages/parts.tsx';
import { html } from '../storefront/respond.tsx';

export interface RenderedEmail {
  locale: Locale;
  subject: string;
  text: string;
  html: string;
}

export interface ConfirmationInput {
  shop: ShopView;
  /** The order as its page shows it, read when the email is sent. */
  order: OrderView;
  /** A guest's order access token (the link opens the order with it); null for a signed-in buyer. */
  token: string | null;
}

/** Email clients ignore stylesheets more often than not: every style is inline. */
const FONTS = "-apple-system, 'Segoe UI', Roboto, Tahoma, Arial, sans-serif";
const MUTED = 'color:#52525b;font-size:14px';

interface Parts {
  i18n: I18n;
  shop: ShopView;
  order: OrderView;
  link: string;
  guest: boolean;
  subject: string;
}

/** A Latin id inside a right-to-left sentence keeps its place when isolated. */
const isolate = (i18n: I18n, text: string) => (i18n.dir === 'rtl' ? `\u2068${text}\u2069` : text);

function ConfirmationHtml({ i18n, shop, order, link, guest, subject }: Parts) {
  const { t, dir } = i18n;
  const start = dir === 'rtl' ? 'right' : 'left';
  const end = dir === 'rtl' ? 'left' : 'right';
  const cell = 'padding:10px 0;border-bottom:1px solid #e4e4e7;vertical-align:top';
  const instructions = paymentInstructionsText(i18n, order, shop.timezone);
  const { theme } = shop;
  return (
    <html lang={i18n.locale} dir={dir}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{subject}</title>
      </head>
      <body dir={dir} style={`margin:0;padding:0;background:#f4f4f5;color:#18181b;font-family:${FONTS}`}>
        <div dir={dir} style={`max-width:600px;margin:0 auto;background:#ffffff;text-align:${start}`}>
          <div
            style={`background:${theme.primary};color:${theme.onPrimary};padding:16px 24px;font-size:20px;font-weight:700`}
          >
            {shop.name}
          </div>
          <div style="padding:24px;line-height:1.5">
            <h1 style="font-size:22px;margin:0 0 12px">{t('order.placed')}</h1>
            <p>{t('email.order.intro', { shop: shop.name })}</p>
            <p>
              {t('order.reference')}: <bdi dir="ltr">{order.id}</bdi>
              <br />
              {t('order.placedOn')}: {i18n.dateTime(new Date(order.created_at), shop.timezone)}
            </p>
            <h2 style="font-size:18px;margin:24px 0 8px">{t('order.items')}</h2>
            <table
              role="presentation"
              width="100%"
              cellpadding="0"
              cellspacing="0"
              style="border-collapse:collapse"
            >
              <tbody>
                {order.lines.map((line) => (
                  <tr>
                    <td style={`${cell};text-align:${start}`}>
                      <span dir="auto">{line.title}</span>
                      <br />
                      <span style={MUTED}>{variantLabel(i18n, line)}</span>
                      <br />
                      <span style={MUTED}>
                        {t('checkout.lineQuantity', {
                          quantity: line.quantity,
                          price: i18n.price(line.unit_price_minor, order.currency),
                        })}
                      </span>
                    </td>
                    <td style={`${cell};text-align:${end};white-space:nowrap`}>
                      {i18n.price(line.line_total_minor, order.currency)}
                    </td>
                  </tr>
                ))}
                <tr>
                  <th scope="row" style={`padding:10px 0;text-align:${start}`}>
                    {t('checkout.total')}
                  </th>
                  <td style={`padding:10px 0;text-align:${end};white-space:nowrap;font-weight:700`}>
                    {i18n.price(order.total_minor, order.currency)}
                  </td>
                </tr>
              </tbody>
            </table>
            <h2 style="font-size:18px;margin:24px 0 8px">{t('order.payment')}</h2>
            <p>
              <strong>{t(`rail.${order.rail}`)}</strong>
              <br />
              {t(`rail.${order.rail}.disclosure`)}
            </p>
            {instructions ? <p>{instructions}</p> : null}
            <p style="margin:24px 0">
              <a
                href={link}
                style={`display:inline-block;padding:12px 20px;border-radius:6px;background:${theme.primary};color:${theme.onPrimary};text-decoration:none;font-weight:700`}
              >
                {t('email.order.view')}
              </a>
            </p>
            <p style={MUTED}>{guest ? t('order.keepLink') : t('email.order.signIn')}</p>
            <p dir="ltr" style={`${MUTED};word-break:break-all;text-align:${start}`}>
              <a href={link} style={`color:${theme.link}`}>
                {link}
              </a>
            </p>
          </div>
          <div style={`padding:16px 24px;border-top:1px solid #e4e4e7;${MUTED}`}>
            {t('email.order.footer', { shop: shop.name })}
          </div>
        </div>
      </body>
    </html>
  );
}

function confirmationText({ i18n, shop, order, link, guest }: Parts): string {
  const { t } = i18n;
  const instructions = paymentInstructionsText(i18n, order, shop.timezone);
  return [
    t('order.placed'),
    t('email.order.intro', { shop: shop.name }),
    '',
    `${t('order.reference')}: ${isolate(i18n, order.id)}`,
    `${t('order.placedOn')}: ${i18n.dateTime(new Date(order.created_at), shop.timezone)}`,
    '',
    `${t('order.items')}:`,
    ...order.lines.map(
      (line) =>
        `- ${line.title} (${variantLabel(i18n, line)}): ${t('checkout.lineQuantity', {
          quantity: line.quantity,
          price: i18n.price(line.unit_price_minor, order.currency),
        })} = ${i18n.price(line.line_total_minor, order.currency)}`,
    ),
    `${t('checkout.total')}: ${i18n.price(order.total_minor, order.currency)}`,
    '',
    `${t('order.payment')}: ${t(`rail.${order.rail}`)}`,
    t(`rail.${order.rail}.disclosure`),
    ...(instructions ? [instructions] : []),
    '',
    `${t('email.order.view')}: ${link}`,
    guest ? t('order.keepLink') : t('email.order.signIn'),
    '',
    '--',
    t('email.order.footer', { shop: shop.name }),
    '',
  ].join('\n');
}

/**
 * The order confirmation in the shop's default locale, with the storefront's own words,
 * prices and dates (Persian digits and the solar calendar in Persian): subject, plain text
 * and HTML. It names the shop only, never the platform.
 */
export function renderOrderConfirmation({ shop, order, token }: ConfirmationInput): RenderedEmail {
  const i18n = i18nFor(shop.defaultLocale);
  const subject = i18n.t('email.order.subject', { shop: shop.name, reference: isolate(i18n, order.id) });
  const parts: Parts = {
    i18n,
    shop,
    order,
    link: orderPageUrl(shop, order.id, token),
    guest: token !== null,
    subject,
  };
  return {
    locale: i18n.locale,
    subject,
    text: confirmationText(parts),
    html: html(<ConfirmationHtml {...parts} />),
  };
}
