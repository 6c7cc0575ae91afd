import { literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import { type Static, Type } from 'typebox';
import { pricingModes, productStatuses } from './schema.ts';

/**
 * Field rules shared by the JSON API and the CSV importer, so a value the API refuses is
 * refused by the import too (with the same limits).
 */
export const limits = {
  slug: 120,
  title: 200,
  description: 5000,
  tag: 40,
  tags: 20,
  images: 20,
  imageAlt: 300,
  url: 2048,
  variants: 100,
  optionKey: 40,
  optionValue: 80,
  options: 10,
  /** A trillion minor units: far beyond any real price, still exact as a JS number. */
  price: 1_000_000_000_000,
  /** stock_levels.on_hand is a PostgreSQL integer. */
  stock: 1_000_000_000,
  categoryName: 120,
  note: 500,
} as const;

export const SLUG_PATTERN = '^[a-z0-9]+(?:-[a-z0-9]+)*$';
export const SKU_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$';
/** No separators the CSV format uses, no surrounding whitespace. */
export const OPTION_KEY_PATTERN = '^[^=;\\s](?:[^=;]*[^=;\\s])?$';
export const OPTION_VALUE_PATTERN = '^[^;\\s](?:[^;]*[^;\\s])?$';
export const TAG_PATTERN = '^[^;\\s](?:[^;]*[^;\\s])?$';
export const CURRENCY_PATTERN = '^[A-Z]{3}$';
export const HTTPS_URL_PATTERN = '^https://[^\\s]+$';

export const Slug = Type.String({ minLength: 1, maxLength: limits.slug, pattern: SLUG_PATTERN });
export const Sku = Type.String({ minLength: 1, maxLength: 64, pattern: SKU_PATTERN });
export const Currency = Type.String({ pattern: CURRENCY_PATTERN, description: 'ISO 4217 code' });
export const PriceMinor = Type.Integer({
  minimum: 0,
  maximum: limits.price,
  description: 'integer minor units (cents, rials…)',
});
export const StockQuantity = Type.Integer({ minimum: 0, maximum: limits.stock });
export const Status = literals(productStatuses);
export const PricingMode = literals(pricingModes);
export const Tags = Type.Array(Type.String({ minLength: 1, maxLength: limits.tag, pattern: TAG_PATTERN }), {
  maxItems: limits.tags,
  uniqueItems: true,
});
export const Image = Strict({
  url: Type.String({ format: 'uri', pattern: HTTPS_URL_PATTERN, maxLength: limits.url }),
  alt: Type.String({ minLength: 1, maxLength: limits.imageAlt }),
});
export const Images = Type.Array(Image, { maxItems: limits.images });
export const Options = Type.Record(
  Type.String({ maxLength: limits.optionKey, pattern: OPTION_KEY_PATTERN }),
  Type.String({ minLength: 1, maxLength: limits.optionValue, pattern: OPTION_VALUE_PATTERN }),
  { additionalProperties: false, maxProperties: limits.options, description: 'e.g. {"size":"M"}' },
);
export const Title = Type.String({ minLength: 1, maxLength: limits.title });
export const Description = Type.String({ maxLength: limits.description });

// ---- categories

export const Category = Strict({
  id: Uuid,
  parent_id: Type.Union([Uuid, Type.Null()]),
  name: Type.String(),
  slug: Type.String(),
  /** 0 for a root category. */
  depth: Type.Integer(),
  /** Slugs from the root down to this category. */
  path: Type.Array(Type.String()),
  created_at: Timestamp,
});
export const CategoryCreate = Strict({
  name: Type.String({ minLength: 1, maxLength: limits.categoryName }),
  slug: Slug,
  parent_id: Type.Optional(Type.Union([Uuid, Type.Null()])),
});
export const CategoryPatch = Type.Partial(CategoryCreate, { additionalProperties: false, minProperties: 1 });

// ---- products

const variantFields = {
  sku: Sku,
  options: Options,
  price_minor: Type.Union([PriceMinor, Type.Null()]),
  status: Status,
};

export const VariantCreate = Strict({
  sku: Sku,
  options: Type.Optional(Options),
  price_minor: Type.Optional(Type.Union([PriceMinor, Type.Null()])),
  status: Type.Optional(Status),
  /** Initial on-hand stock, recorded as a restock movement. */
  stock: Type.Optional(StockQuantity),
});

/** With `id`: changes that variant; without: adds a variant (then `sku` is required). */
export const VariantUpsert = Strict({
  id: Type.Optional(Uuid),
  sku: Type.Optional(Sku),
  options: Type.Optional(Options),
  price_minor: Type.Optional(Type.Union([PriceMinor, Type.Null()])),
  status: Type.Optional(Status),
  stock: Type.Optional(StockQuantity),
});

const productFields = {
  slug: Slug,
  title: Title,
  description: Description,
  category_id: Type.Union([Uuid, Type.Null()]),
  tags: Tags,
  status: Status,
  pricing_mode: PricingMode,
  currency: Currency,
  images: Images,
};

export const ProductCreate = Strict({
  slug: Slug,
  title: Title,
  description: Type.Optional(Description),
  category_id: Type.Optional(Type.Union([Uuid, Type.Null()])),
  tags: Type.Optional(Tags),
  status: Type.Optional(Status),
  pricing_mode: Type.Optional(PricingMode),
  currency: Type.Optional(Currency),
  images: Type.Optional(Images),
  variants: Type.Array(VariantCreate, { minItems: 1, maxItems: limits.variants }),
});
export type ProductCreateInput = Static<typeof ProductCreate>;

export const ProductPatch = Type.Object(
  {
    ...Type.Partial(Strict(productFields)).properties,
    variants: Type.Optional(Type.Array(VariantUpsert, { minItems: 1, maxItems: limits.variants })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ProductPatchInput = Static<typeof ProductPatch>;

export const StockSummary = Strict({
  on_hand: Type.Integer(),
  reserved: Type.Integer(),
  available: Type.Integer(),
  low_stock_threshold: Type.Union([Type.Integer(), Type.Null()]),
});

export const AdminVariant = Strict({
  id: Uuid,
  ...variantFields,
  stock: StockSummary,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const AdminProduct = Strict({
  id: Uuid,
  ...productFields,
  /** The lowest active variant price; null when none is priced. */
  price_minor: Type.Union([Type.Integer(), Type.Null()]),
  variants: Type.Array(AdminVariant),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const sortOrders = ['relevance', 'newest', 'price_asc', 'price_desc', 'title'] as const;
export type SortOrder = (typeof sortOrders)[number];

const listQueryFields = {
  page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 24 }),
  search: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  category: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: limits.slug,
      description: 'category slug or id; includes its subcategories',
    }),
  ),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: limits.tag })),
  sort: Type.Optional(literals(sortOrders, 'default: relevance when searching, else newest')),
};

export const StorefrontCatalogQuery = Strict({
  ...listQueryFields,
  min_price: Type.Optional(PriceMinor),
  max_price: Type.Optional(PriceMinor),
});

export const AdminProductListQuery = Strict({
  ...listQueryFields,
  /** The admin list's name for search, matching the dashboard's query box. */
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  status: Type.Optional(Status),
});

export const ProductSummary = Strict({
  id: Uuid,
  slug: Type.String(),
  title: Type.String(),
  status: Status,
  pricing_mode: PricingMode,
  /** Lowest active variant price; null for quote-only products. */
  price_minor: Type.Union([Type.Integer(), Type.Null()]),
  currency: Type.String(),
  category_id: Type.Union([Uuid, Type.Null()]),
  tags: Type.Array(Type.String()),
  images: Type.Array(Image),
  variant_count: Type.Integer(),
  /** Sum over active variants of on_hand - reserved. */
  available: Type.Integer(),
  in_stock: Type.Boolean(),
  created_at: Timestamp,
});

export const ProductPage = Strict({
  items: Type.Array(ProductSummary),
  page: Type.Integer(),
  limit: Type.Integer(),
  total: Type.Integer(),
});

export const CategoryRef = Strict({ id: Uuid, name: Type.String(), slug: Type.String() });

export const StorefrontItem = Strict({
  id: Uuid,
  slug: Type.String(),
  title: Type.String(),
  description: Type.String(),
  pricing_mode: PricingMode,
  /** null when the product is sold on quote. */
  price_minor: Type.Union([Type.Integer(), Type.Null()]),
  currency: Type.String(),
  tags: Type.Array(Type.String()),
  images: Type.Array(Image),
  /** From the root category down to the product's own. */
  category_path: Type.Array(CategoryRef),
  in_stock: Type.Boolean(),
  variants: Type.Array(
    Strict({
      id: Uuid,
      sku: Type.String(),
      options: Type.Record(Type.String(), Type.String()),
      price_minor: Type.Union([Type.Integer(), Type.Null()]),
      available: Type.Integer(),
      in_stock: Type.Boolean(),
    }),
  ),
});
