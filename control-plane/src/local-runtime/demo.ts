import { randomUUID } from 'node:crypto';
import { SIGNATURE_HEADER, signEvidence, TIMESTAMP_HEADER } from '@amanat/kit/payments/evidence-signature';

/**
 * The demo fleet `npm start` seeds on a fresh data directory: three shops, one per isolation
 * mode, each with its own brand and language, about 50 products with variants and stock, and
 * a few orders in different states. Everything goes through each shop's own data-plane API
 * (the control plane never writes a tenant's tables), so seeding exercises the real paths.
 */
export interface DemoShop {
  slug: string;
  name: string;
  mode: 'shared' | 'schema' | 'database';
  tier: 'hosted_seller' | 'white_label' | 'isolated';
  locale: 'en' | 'fa';
  currency: string;
  brand: { display_name: string; tagline: string; primary_color: string; accent_color: string };
  owner: { email: string; displayName: string };
  /** Category names and the words products in them are made of. */
  catalog: {
    category: string;
    slug: string;
    nouns: string[];
    adjectives: string[];
    priceMinor: [number, number];
  }[];
  sizes: string[];
  colours: string[];
}

export const DEMO_SHOPS: DemoShop[] = [
  {
    slug: 'sara-ceramics',
    name: 'Sara Ceramics',
    mode: 'shared',
    tier: 'hosted_seller',
    locale: 'en',
    currency: 'USD',
    brand: {
      display_name: 'Sara Ceramics',
      tagline: 'Handmade in Shiraz',
      primary_color: '#1f6f5c',
      accent_color: '#f2b134',
    },
    owner: { email: 'sara@demo.localhost', displayName: 'Sara' },
    catalog: [
      {
        category: 'Mugs',
        slug: 'mugs',
        nouns: ['mug', 'cup', 'tumbler'],
        adjectives: ['Glazed', 'Speckled', 'Matte', 'Turquoise', 'Hand-thrown'],
        priceMinor: [1400, 3200],
      },
      {
        category: 'Bowls',
        slug: 'bowls',
        nouns: ['bowl', 'dish', 'platter'],
        adjectives: ['Deep', 'Shallow', 'Rustic', 'Cobalt', 'Ash'],
        priceMinor: [1800, 6400],
      },
      {
        category: 'Vases',
        slug: 'vases',
        nouns: ['vase', 'jug', 'bottle'],
        adjectives: ['Tall', 'Bud', 'Ribbed', 'Sand', 'Crackle'],
        priceMinor: [2600, 9800],
      },
    ],
    sizes: ['S', 'M', 'L'],
    colours: ['white', 'teal', 'ochre'],
  },
  {
    slug: 'tehran-threads',
    name: 'Tehran Threads',
    mode: 'schema',
    tier: 'white_label',
    locale: 'fa',
    currency: 'IRR',
    brand: {
      display_name: 'نخ تهران',
      tagline: 'پوشاک دست‌دوز',
      primary_color: '#7a1f3d',
      accent_color: '#e9c46a',
    },
    owner: { email: 'reza@demo.localhost', displayName: 'Reza' },
    catalog: [
      {
        category: 'پیراهن',
        slug: 'shirts',
        nouns: ['پیراهن', 'بلوز', 'تونیک'],
        adjectives: ['نخی', 'کتان', 'راه‌راه', 'گلدار', 'ساده'],
        priceMinor: [4_500_000, 12_000_000],
      },
      {
        category: 'شال',
        slug: 'scarves',
        nouns: ['شال', 'روسری', 'دستمال'],
        adjectives: ['ابریشمی', 'پشمی', 'ترمه', 'سنتی', 'نقش‌دار'],
        priceMinor: [2_000_000, 8_000_000],
      },
    ],
    sizes: ['S', 'M', 'L', 'XL'],
    colours: ['سرمه‌ای', 'زرشکی', 'کرم'],
  },
  {
    slug: 'nordic-tools',
    name: 'Nordic Tools',
    mode: 'database',
    tier: 'isolated',
    locale: 'en',
    currency: 'EUR',
    brand: {
      display_name: 'Nordic Tools',
      tagline: 'Tools that outlive you',
      primary_color: '#264653',
      accent_color: '#e76f51',
    },
    owner: { email: 'ingrid@demo.localhost', displayName: 'Ingrid' },
    catalog: [
      {
        category: 'Hand tools',
        slug: 'hand-tools',
        nouns: ['hammer', 'chisel', 'saw', 'plane'],
        adjectives: ['Forged', 'Ash-handled', 'Carbon', 'Compact', 'Heavy'],
        priceMinor: [2200, 14900],
      },
      {
        category: 'Workwear',
        slug: 'workwear',
        nouns: ['apron', 'glove', 'jacket'],
        adjectives: ['Waxed', 'Canvas', 'Leather', 'Lined', 'Field'],
        priceMinor: [1900, 18900],
      },
    ],
    sizes: ['S', 'M', 'L'],
    colours: ['black', 'olive', 'tan'],
  },
];

export const DEMO_PRODUCTS_PER_SHOP = 50;

export interface DemoProduct {
  slug: string;
  title: string;
  description: string;
  categorySlug: string;
  tags: string[];
  variants: { sku: string; options: Record<string, string>; price_minor: number; stock: number }[];
}

/** A small deterministic generator (mulberry32): the same shop gets the same catalog on every machine. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function demoCatalog(shop: DemoShop, count = DEMO_PRODUCTS_PER_SHOP): DemoProduct[] {
  const next = random([...shop.slug].reduce((sum, char) => sum * 31 + char.charCodeAt(0), 7));
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)] as T;
  const products: DemoProduct[] = [];
  for (let index = 1; index <= count; index++) {
    const group = shop.catalog[index % shop.catalog.length] as DemoShop['catalog'][number];
    const title = `${pick(group.adjectives)} ${pick(group.nouns)}`;
    const [low, high] = group.priceMinor;
    const base = Math.round((low + next() * (high - low)) / 100) * 100;
    const kind = index % 3;
    const code = `${shop.slug.slice(0, 3).toUpperCase()}-${String(index).padStart(3, '0')}`;
    const variants: DemoProduct['variants'] =
      kind === 0
        ? [{ sku: code, options: {}, price_minor: base, stock: Math.floor(next() * 40) }]
        : (kind === 1 ? shop.sizes : shop.colours).map((value, position) => ({
            sku: `${code}-${position + 1}`,
            options: { [kind === 1 ? 'size' : 'colour']: value },
            price_minor: base + position * (kind === 1 ? 200 : 0),
            // A few sold-out and low-stock variants, so those states show.
            stock: index % 11 === 0 && position === 0 ? 0 : Math.floor(next() * 25) + 1,
          }));
    products.push({
      slug: `${group.slug}-${index}`,
      title: shop.locale === 'fa' ? `${group.category} ${title}` : title,
      description:
        shop.locale === 'fa'
          ? `${title}، ساخته‌شده با دقت در کارگاه ${shop.brand.display_name}.`
          : `A ${title.toLowerCase()} made with care in the ${shop.brand.display_name} workshop.`,
      categorySlug: group.slug,
      tags: [group.slug],
      variants,
    });
  }
  return products;
}

/** One shop's data plane, as the seeder talks to it. */
export interface DemoShopApi {
  /** The data plane's own base URL (loopback). */
  baseUrl: string;
  /** A short-lived owner token for the admin API. */
  staffToken(): Promise<string>;
  /** The per-tenant secret payment evidence is signed with. */
  paymentEvidenceSecret: string;
}

async function call(
  api: DemoShopApi,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const admin = path.startsWith('/api/admin');
  const response = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(admin ? { authorization: `Bearer ${await api.staffToken()}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok)
    throw new Error(`demo seed: ${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Payment evidence signed as the platform scanner signs it. */
export function signedEvidence(secret: string, body: unknown, now = new Date()) {
  const raw = JSON.stringify(body);
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    raw,
    headers: {
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signEvidence(secret, timestamp, raw),
    },
  };
}

/** A data plane's answer other than 2xx: its status and body (a problem+json document). */
export class DataPlaneRefusal extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the data plane answered ${status}: ${body.slice(0, 300)}`);
    this.name = 'DataPlaneRefusal';
  }
}

/**
 * Settles an order's payment with signed scanner evidence for its full total (the demo's paid
 * orders, the admin's "simulate payment"). Resolves with the data plane's settlement; rejects
 * with a DataPlaneRefusal when it refuses the evidence.
 */
export async function simulatePayment(
  api: Pick<DemoShopApi, 'baseUrl' | 'paymentEvidenceSecret'>,
  order: { id: string; rail: string; total_minor: number; currency: string },
): Promise<{ order_id: string; status: string; rail: string }> {
  const evidence = signedEvidence(api.paymentEvidenceSecret, {
    evidence_id: `sim-${randomUUID()}`,
    order_id: order.id,
    rail: order.rail,
    amount_minor: order.total_minor,
    currency: order.currency,
    reference: 'simulated payment',
  });
  const response = await fetch(`${api.baseUrl}/api/payments/evidence`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...evidence.headers },
    body: evidence.raw,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new DataPlaneRefusal(response.status, text);
  return JSON.parse(text) as { order_id: string; status: string; rail: string };
}

/**
 * Seeds one shop: brand and language, categories, products with stock, and four orders —
 * awaiting payment, paid into escrow, in fulfilment with tracking, and delivered. Skips a shop
 * that already has products (a restart does not seed twice).
 */
export async function seedDemoShop(
  api: DemoShopApi,
  shop: DemoShop,
): Promise<{ products: number; orders: number }> {
  const existing = await call(api, 'GET', '/api/admin/products?limit=1');
  if (((existing.items as unknown[]) ?? []).length > 0) return { products: 0, orders: 0 };

  await call(api, 'PATCH', '/api/admin/settings', {
    brand: shop.brand,
    locales: shop.locale === 'fa' ? ['fa', 'en'] : ['en', 'fa'],
    default_locale: shop.locale,
    currency: shop.currency,
    features: { login_methods: ['email_password'], disclose_platform: false },
  });
  const categoryIds = new Map<string, string>();
  for (const group of shop.catalog) {
    const created = await call(api, 'POST', '/api/admin/categories', {
      name: group.category,
      slug: group.slug,
    });
    categoryIds.set(group.slug, created.id as string);
  }
  const products = demoCatalog(shop);
  const variantIds: string[] = [];
  for (const product of products) {
    const created = await call(api, 'POST', '/api/admin/products', {
      slug: product.slug,
      title: product.title,
      description: product.description,
      category_id: categoryIds.get(product.categorySlug),
      tags: product.tags,
      currency: shop.currency,
      variants: product.variants,
    });
    const stockOf = new Map(product.variants.map((variant) => [variant.sku, variant.stock]));
    for (const variant of created.variants as { id: string; sku: string }[]) {
      // Orders are placed on variants with stock to spare, so the sold-out ones stay sold out.
      if ((stockOf.get(variant.sku) ?? 0) > 1) variantIds.push(variant.id);
    }
  }

  const checkout = async (index: number) => {
    const variant = variantIds[(index * 7) % variantIds.length] as string;
    return call(
      api,
      'POST',
      '/api/storefront/checkout',
      {
        lines: [{ variant_id: variant, quantity: 1 }],
        email: `buyer${index}@demo.localhost`,
        rail: 'amn_escrow',
        shipping_address: {
          recipient_name: `Demo buyer ${index}`,
          line1: `${index} Demo Street`,
          city: shop.locale === 'fa' ? 'Tehran' : 'Oslo',
          country: shop.locale === 'fa' ? 'IR' : 'NO',
        },
      },
      { 'idempotency-key': `demo-seed-${shop.slug}-${index}` },
    ) as Promise<{ id: string; rail: string; total_minor: number; currency: string }>;
  };
  const orders = await Promise.all([1, 2, 3, 4].map(checkout));
  const [, paid, shipping, delivered] = orders as [
    unknown,
    (typeof orders)[number],
    (typeof orders)[number],
    (typeof orders)[number],
  ];
  for (const order of [paid, shipping, delivered]) await simulatePayment(api, order);
  for (const order of [shipping, delivered]) {
    await call(api, 'POST', `/api/admin/orders/${order.id}/start-fulfillment`, {
      carrier: 'Demo Post',
      tracking_number: `DP${order.id.slice(0, 8).toUpperCase()}`,
    });
  }
  await call(api, 'POST', `/api/admin/orders/${delivered.id}/confirm-delivery`, { note: 'left at the door' });
  return { products: products.length, orders: orders.length };
}
