import { describe, expect, it } from 'vitest';
import { railDisclosures } from '../settings/rails.ts';
import type { ShopView } from '../storefront/page-context.ts';
import type { OrderView } from '../storefront/pages/order.tsx';
import { themeFor } from '../storefront/theme.ts';
import { renderOrderConfirmation } from './render.tsx';

const ORDER_ID = '3f6c2b1a-9d4e-4c2b-8a1f-0123456789ab';
const TOKEN = 'q'.repeat(43);
const PLATFORM = /amanat|\bamn\b|amn_/i;
const PERSIAN_DIGIT = /[۰-۹]/;
const ASCII_DIGIT = /[0-9]/;

function shop(locale: 'en' | 'fa'): ShopView {
  return {
    name: 'Tea & Cups',
    tagline: '',
    logoUrl: null,
    faviconUrl: null,
    theme: themeFor({
      display_name: 'Tea & Cups',
      tagline: '',
      primary_color: '#0a7cff',
      accent_color: '#ff7a00',
    }),
    locales: [locale],
    defaultLocale: locale,
    currency: 'USD',
    timezone: 'Asia/Tehran',
    disclosePlatform: true,
    lowStockThreshold: 5,
    origin: 'https://tea.example:8443',
  };
}

function order(overrides: Partial<OrderView> = {}): OrderView {
  return {
    id: ORDER_ID,
    status: 'pending_payment',
    rail: 'amn_escrow',
    disclosure: railDisclosures.amn_escrow,
    currency: 'USD',
    subtotal_minor: 5300,
    total_minor: 5300,
    item_count: 5,
    lines: [
      {
        variant_id: '11111111-1111-4111-8111-111111111111',
        product_id: '22222222-2222-4222-8222-222222222222',
        sku: 'MUG-L',
        title: 'Mug <large>',
        options: { size: 'L' },
        unit_price_minor: 2500,
        quantity: 2,
        line_total_minor: 5000,
      },
      {
        variant_id: '33333333-3333-4333-8333-333333333333',
        product_id: '44444444-4444-4444-8444-444444444444',
        sku: 'SPOON',
        title: 'Spoon',
        options: {},
        unit_price_minor: 100,
        quantity: 3,
        line_total_minor: 300,
      },
    ],
    email: 'guest@example.com',
    shipping_address: null,
    note: null,
    payment_instructions: {
      method: 'amn_escrow',
      reference: ORDER_ID,
      amount_minor: 5300,
      currency: 'USD',
      pay_before: '2025-06-01T10:30:00.000Z',
      text: '',
    },
    expires_at: '2025-06-01T10:30:00.000Z',
    created_at: '2025-06-01T10:00:00.000Z',
    tracking: { carrier: null, tracking_number: null, events: [] },
    digital_delivery: null,
    ...overrides,
  };
}

describe('the order confirmation', () => {
  it('in English: names the shop and the order, lists lines, total, disclosure, how to pay, and the guest link', () => {
    const email = renderOrderConfirmation({ shop: shop('en'), order: order(), token: TOKEN });
    const link = `https://tea.example:8443/orders/${ORDER_ID}?token=${TOKEN}`;
    expect(email.locale).toBe('en');
    expect(email.subject).toBe(`Tea & Cups: your order ${ORDER_ID}`);
    expect(email.html).toMatch(/^<!doctype html><html lang="en" dir="ltr">/);
    expect(email.html).toContain('Tea &amp; Cups');
    expect(email.html).toContain('Mug &lt;large>');
    expect(email.html).not.toContain('<large>');
    expect(email.html).toContain(`href="${link}"`);
    for (const part of [email.html, email.text]) {
      expect(part).toContain(ORDER_ID);
      expect(part).toContain('$25.00');
      expect(part).toContain('$50.00');
      expect(part).toContain('$53.00');
      expect(part).toContain('size: L');
      expect(part).toContain(railDisclosures.amn_escrow);
      expect(part).toContain('Escrow protection');
      expect(part).toContain('Pay $53.00 into escrow quoting reference');
      expect(part).toContain('Keep this link');
      expect(part).not.toMatch(PLATFORM);
    }
    expect(email.text).toContain(`View your order: ${link}`);
    expect(email.text).toContain('- Mug <large> (size: L): 2 × $25.00 = $50.00');
    expect(email.subject).not.toMatch(PLATFORM);
  });

  it('for a signed-in buyer: the plain order link, no token; a paid order has no payment instructions', () => {
    const email = renderOrderConfirmation({
      shop: shop('en'),
      order: order({ status: 'paid_direct', rail: 'amn_direct', payment_instructions: null }),
      token: null,
    });
    const link = `https://tea.example:8443/orders/${ORDER_ID}`;
    expect(email.text).toContain(`View your order: ${link}\n`);
    expect(email.html).toContain(`href="${link}"`);
    expect(`${email.html}${email.text}`).not.toContain('token=');
    expect(email.text).toContain('Sign in to your account to open it.');
    expect(email.text).not.toContain('Keep this link');
    expect(email.text).toContain(railDisclosures.amn_direct);
    expect(email.text).not.toContain('quoting reference');
  });

  it('in Persian: right-to-left HTML, Persian words, digits and calendar; the Latin id isolated', () => {
    const email = renderOrderConfirmation({ shop: shop('fa'), order: order(), token: TOKEN });
    expect(email.locale).toBe('fa');
    expect(email.html).toMatch(/^<!doctype html><html lang="fa" dir="rtl">/);
    expect(email.html).toContain('<body dir="rtl"');
    expect(email.subject).toBe(`Tea & Cups: سفارش شما \u2068${ORDER_ID}\u2069`);
    for (const part of [email.html, email.text]) {
      expect(part).toContain('سپاسگزاریم! سفارش شما ثبت شد.');
      expect(part).toContain('۵۳٫۰۰');
      expect(part).toContain('پرداخت امانی');
      expect(part).not.toMatch(PLATFORM);
    }
    const total = /جمع کل: (.+)/.exec(email.text)?.[1] ?? '';
    expect(total).toMatch(PERSIAN_DIGIT);
    expect(total).not.toMatch(ASCII_DIGIT);
    const placed = /تاریخ ثبت: (.+)/.exec(email.text)?.[1] ?? '';
    expect(placed).toContain('۱۴۰۴');
    expect(placed).not.toMatch(ASCII_DIGIT);
    expect(email.text).toContain('۲ × ');
    // The link is a URL: Latin, whatever the language around it.
    expect(email.text).toContain(`https://tea.example:8443/orders/${ORDER_ID}?token=${TOKEN}`);
  });
});
