import { pricingModes, productStatuses } from './schema.ts';
import {
  CURRENCY_PATTERN,
  HTTPS_URL_PATTERN,
  limits,
  OPTION_KEY_PATTERN,
  OPTION_VALUE_PATTERN,
  SKU_PATTERN,
  SLUG_PATTERN,
  TAG_PATTERN,
} from './schemas.ts';

/**
 * The catalog CSV format (docs/catalog.md renders this for people). One row per
 * variant; rows sharing product_slug form one product. A blank cell means "not given": a new
 * product takes the default, an existing one keeps its value.
 */
export const importColumns = {
  product_slug: "required; the product's slug (a-z, 0-9, hyphens)",
  title: 'product title; required for a new product',
  description: 'product description',
  category_slug: 'slug of an existing category',
  tags: 'semicolon-separated, e.g. summer;cotton',
  status: 'product status: active | archived (default active)',
  pricing_mode: 'fixed | quote (default fixed)',
  currency: "ISO 4217 code (default: the shop's currency)",
  sku: 'required; unique per shop; the key that makes the import idempotent',
  options: 'variant option values, e.g. size=M;colour=red',
  price_minor: 'variant price in integer minor units; required for fixed pricing',
  stock: 'on-hand stock to set (blank leaves stock as it is)',
  image_url: "https URL of a product image (each row may add one to its product's images)",
  image_alt: 'alt text for image_url (required with it)',
} as const;
export type ImportColumn = keyof typeof importColumns;
export const requiredColumns: readonly ImportColumn[] = ['product_slug', 'sku'];

export interface RowError {
  line: number;
  field: string;
  message: string;
}

/** One valid CSV row. Product-level fields are undefined when the cell was blank. */
export interface ImportRow {
  line: number;
  productSlug: string;
  title?: string;
  description?: string;
  categorySlug?: string;
  tags?: string[];
  status?: (typeof productStatuses)[number];
  pricingMode?: (typeof pricingModes)[number];
  currency?: string;
  sku: string;
  options: Record<string, string>;
  /** null when blank. */
  priceMinor: number | null;
  /** undefined when blank: stock is left as it is. */
  stock?: number;
  image?: { url: string; alt: string };
}

/** Product-level fields: rows of one product must agree on each one they fill in. */
export const productFields = [
  'title',
  'description',
  'categorySlug',
  'tags',
  'status',
  'pricingMode',
  'currency',
] as const satisfies readonly (keyof ImportRow)[];

export const productFieldColumn: Record<(typeof productFields)[number], ImportColumn> = {
  title: 'title',
  description: 'description',
  categorySlug: 'category_slug',
  tags: 'tags',
  status: 'status',
  pricingMode: 'pricing_mode',
  currency: 'currency',
};

const slugPattern = new RegExp(SLUG_PATTERN);
const skuPattern = new RegExp(SKU_PATTERN);
const optionKeyPattern = new RegExp(OPTION_KEY_PATTERN);
const optionValuePattern = new RegExp(OPTION_VALUE_PATTERN);
const tagPattern = new RegExp(TAG_PATTERN);
const currencyPattern = new RegExp(CURRENCY_PATTERN);
const httpsUrlPattern = new RegExp(HTTPS_URL_PATTERN);
const DIGITS = /^[0-9]+$/;

/** Line breaks and other control characters (tab excepted) have no place in a one-line field. */
function hasControlCharacter(value: string): boolean {
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** `size=M;colour=red` → { size: 'M', colour: 'red' }. Blank → {}. */
export function parseOptions(text: string): Parsed<Record<string, string>> {
  const options: Record<string, string> = {};
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, value: options };
  const pairs = trimmed.split(';');
  if (pairs.length > limits.options) return { ok: false, message: `has more than ${limits.options} options` };
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals < 0) return { ok: false, message: `"${pair.trim()}" is not name=value` };
    const key = pair.slice(0, equals).trim();
    const value = pair.slice(equals + 1).trim();
    if (!optionKeyPattern.test(key) || key.length > limits.optionKey) {
      return {
        ok: false,
        message: `option name "${key}" must be 1-${limits.optionKey} characters without = or ;`,
      };
    }
    if (!optionValuePattern.test(value) || value.length > limits.optionValue) {
      return { ok: false, message: `value of ${key} must be 1-${limits.optionValue} characters without ;` };
    }
    if (Object.hasOwn(options, key)) return { ok: false, message: `option ${key} is given twice` };
    // defineProperty: a key such as __proto__ becomes a plain own property, not a prototype change.
    Object.defineProperty(options, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return { ok: true, value: options };
}

/** The inverse of parseOptions for options the API accepts. */
export function formatOptions(options: Record<string, string>): string {
  return Object.entries(options)
    .map(([key, value]) => `${key}=${value}`)
    .join(';');
}

export function parseTags(text: string): Parsed<string[]> {
  const tags = text
    .split(';')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
  if (tags.length > limits.tags) return { ok: false, message: `has more than ${limits.tags} tags` };
  for (const tag of tags) {
    if (!tagPattern.test(tag) || tag.length > limits.tag) {
      return { ok: false, message: `tag "${tag.slice(0, 50)}" must be 1-${limits.tag} characters` };
    }
  }
  return { ok: true, value: [...new Set(tags)] };
}

function parseInteger(text: string, max: number): Parsed<number> {
  if (!DIGITS.test(text))
    return { ok: false, message: 'must be a whole number ≥ 0 (minor units, no decimals)' };
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value > max) return { ok: false, message: `must be at most ${max}` };
  return { ok: true, value };
}

/**
 * Validates one data row (cells keyed by column, trimmed here) and returns the row or
 * every problem found, each naming its column. Never throws, whatever the input.
 */
export function validateRow(
  cells: Partial<Record<ImportColumn, string>>,
  line: number,
): { row: ImportRow; errors: [] } | { row: null; errors: RowError[] } {
  const errors: RowError[] = [];
  const fail = (field: string, message: string) => errors.push({ line, field, message });
  const cell = (column: ImportColumn): string | undefined => {
    const raw = cells[column];
    if (typeof raw !== 'string') return undefined;
    if (raw.includes('\u0000')) {
      fail(column, 'contains a NUL byte');
      return undefined;
    }
    const value = raw.trim();
    return value === '' ? undefined : value;
  };
  const singleLine = (column: ImportColumn, value: string | undefined) => {
    if (value !== undefined && hasControlCharacter(value)) {
      fail(column, 'contains a control character');
      return false;
    }
    return true;
  };

  const row: Partial<ImportRow> & { line: number } = { line, options: {}, priceMinor: null };

  const productSlug = cell('product_slug');
  if (productSlug === undefined) fail('product_slug', 'is required');
  else if (productSlug.length > limits.slug || !slugPattern.test(productSlug)) {
    fail('product_slug', `must be lower-case letters, digits and single hyphens (at most ${limits.slug})`);
  } else row.productSlug = productSlug;

  const sku = cell('sku');
  if (sku === undefined) fail('sku', 'is required');
  else if (!skuPattern.test(sku))
    fail('sku', 'must be 1-64 letters, digits, . _ / - starting with a letter or digit');
  else row.sku = sku;

  const title = cell('title');
  if (title !== undefined && singleLine('title', title)) {
    if (title.length > limits.title) fail('title', `must be at most ${limits.title} characters`);
    else row.title = title;
  }

  const description = cell('description');
  if (description !== undefined) {
    if (description.length > limits.description)
      fail('description', `must be at most ${limits.description} characters`);
    else row.description = description;
  }

  const categorySlug = cell('category_slug');
  if (categorySlug !== undefined) {
    if (categorySlug.length > limits.slug || !slugPattern.test(categorySlug))
      fail('category_slug', 'is not a slug');
    else row.categorySlug = categorySlug;
  }

  const tags = cell('tags');
  if (tags !== undefined && singleLine('tags', tags)) {
    const parsed = parseTags(tags);
    if (parsed.ok) row.tags = parsed.value;
    else fail('tags', parsed.message);
  }

  const status = cell('status');
  if (status !== undefined) {
    if ((productStatuses as readonly string[]).includes(status)) row.status = status as ImportRow['status'];
    else fail('status', `must be one of ${productStatuses.join(', ')}`);
  }

  const pricingMode = cell('pricing_mode');
  if (pricingMode !== undefined) {
    if ((pricingModes as readonly string[]).includes(pricingMode)) {
      row.pricingMode = pricingMode as ImportRow['pricingMode'];
    } else fail('pricing_mode', `must be one of ${pricingModes.join(', ')}`);
  }

  const currency = cell('currency');
  if (currency !== undefined) {
    if (currencyPattern.test(currency)) row.currency = currency;
    else fail('currency', 'must be an ISO 4217 code such as USD');
  }

  const options = cell('options');
  if (options !== undefined && singleLine('options', options)) {
    const parsed = parseOptions(options);
    if (parsed.ok) row.options = parsed.value;
    else fail('options', parsed.message);
  }

  const price = cell('price_minor');
  if (price !== undefined) {
    const parsed = parseInteger(price, limits.price);
    if (parsed.ok) row.priceMinor = parsed.value;
    else fail('price_minor', parsed.message);
  }
  // Whether a price is required depends on the product's pricing mode, which the importer
  // resolves per product (an existing product may be quote-only).

  const stock = cell('stock');
  if (stock !== undefined) {
    const parsed = parseInteger(stock, limits.stock);
    if (parsed.ok) row.stock = parsed.value;
    else fail('stock', parsed.message);
  }

  const imageUrl = cell('image_url');
  const imageAlt = cell('image_alt');
  if (imageUrl !== undefined) {
    if (imageUrl.length > limits.url || !httpsUrlPattern.test(imageUrl) || !URL.canParse(imageUrl)) {
      fail('image_url', 'must be an https URL');
    } else if (imageAlt === undefined) fail('image_alt', 'is required with image_url');
    else if (imageAlt.length > limits.imageAlt)
      fail('image_alt', `must be at most ${limits.imageAlt} characters`);
    else if (singleLine('image_alt', imageAlt)) row.image = { url: imageUrl, alt: imageAlt };
  } else if (imageAlt !== undefined) fail('image_url', 'is required with image_alt');

  if (errors.length > 0) return { row: null, errors };
  return { row: row as ImportRow, errors: [] };
}
