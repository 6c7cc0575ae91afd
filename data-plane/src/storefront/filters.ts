import { type SortOrder, sortOrders } from '../catalog/schemas.ts';
import { parseMajorUnits } from './money.ts';

export const PAGE_SIZE = 24;
const MAX_PAGE = 10_000;
const CATEGORY = /^[A-Za-z0-9-]{1,120}$/;

/** The catalog page's query: what the buyer asked for, as plain GET parameters. */
export interface CatalogFilters {
  q: string | undefined;
  category: string | undefined;
  /** As typed (major units), to show back in the form. */
  min: string | undefined;
  max: string | undefined;
  minMinor: number | undefined;
  maxMinor: number | undefined;
  sort: SortOrder | undefined;
  page: number;
}

/** The first value of a query parameter (`?a=1&a=2` gives `1`), trimmed; empty is absent. */
export function queryParam(query: unknown, name: string): string | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * Reads the filters leniently: the page is for people, so a value that makes no sense (a
 * price that is not a number, page 0, an unknown sort) is ignored rather than refused; a
 * reversed price range is put the right way round.
 */
export function catalogFilters(query: unknown, currency: string): CatalogFilters {
  const q = queryParam(query, 'q')?.slice(0, 200);
  const category = queryParam(query, 'category');
  let min = queryParam(query, 'min');
  let max = queryParam(query, 'max');
  let minMinor = min === undefined ? undefined : parseMajorUnits(min, currency);
  let maxMinor = max === undefined ? undefined : parseMajorUnits(max, currency);
  if (minMinor === undefined) min = undefined;
  if (maxMinor === undefined) max = undefined;
  if (minMinor !== undefined && maxMinor !== undefined && minMinor > maxMinor) {
    [min, max, minMinor, maxMinor] = [max, min, maxMinor, minMinor];
  }
  const sort = queryParam(query, 'sort');
  const page = Number(queryParam(query, 'page') ?? '1');
  return {
    q,
    category: category && CATEGORY.test(category) ? category : undefined,
    min,
    max,
    minMinor,
    maxMinor,
    sort: (sortOrders as readonly string[]).includes(sort ?? '') ? (sort as SortOrder) : undefined,
    page: Number.isInteger(page) && page >= 1 && page <= MAX_PAGE ? page : 1,
  };
}

/** The filters as link parameters (page left out: links set it). */
export function filterParams(filters: CatalogFilters): Record<string, string | undefined> {
  return { q: filters.q, category: filters.category, min: filters.min, max: filters.max, sort: filters.sort };
}
