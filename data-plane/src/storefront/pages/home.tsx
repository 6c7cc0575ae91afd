/** @jsxRuntime automatic @jsxImportSource preact */
import type { CategoryTreeRow, ProductSummaryRow } from '../../catalog/queries.ts';
import { type CatalogFilters, filterParams, PAGE_SIZE } from '../filters.ts';
import { fractionDigits } from '../money.ts';
import { linkTo, type PageContext } from '../page-context.ts';
import { Layout } from './layout.tsx';
import { Chevron, priceLabel } from './parts.tsx';

export interface HomeProps {
  page: PageContext;
  filters: CatalogFilters;
  products: ProductSummaryRow[];
  total: number;
  categories: CategoryTreeRow[];
}

const sorts = ['newest', 'price_asc', 'price_desc', 'title'] as const;

/** The catalog: search, category, price range and sort as one GET form, then a page of products. */
export function HomePage({ page, filters, products, total, categories }: HomeProps) {
  const { shop, i18n } = page;
  const { t } = i18n;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const filtered = Object.values(filterParams(filters)).some((value) => value !== undefined);
  const category = categories.find((row) => row.slug === filters.category);
  const step = (1 / 10 ** fractionDigits(shop.currency)).toString();
  const heading = filters.q
    ? t('home.searchTitle', { query: filters.q })
    : (category?.name ?? t('home.title'));
  const canonical = linkTo('/', {
    category: category?.slug,
    page: filters.page > 1 ? String(filters.page) : undefined,
  });
  const pageLink = (number: number) =>
    linkTo('/', { ...filterParams(filters), page: number > 1 ? String(number) : undefined });
  return (
    <Layout
      page={page}
      title={filters.q || category ? heading : undefined}
      description={shop.tagline || t('home.description', { shop: shop.name })}
      canonicalPath={canonical}
      noindex={filters.q !== undefined}
      image={shop.logoUrl ? { url: shop.logoUrl, alt: shop.name } : undefined}
    >
      <h1>{heading}</h1>
      <search aria-label={t('filters.label')}>
        <form class="filters" method="get" action="/">
          <div class="field field-search">
            <label for="filter-q">{t('filters.search')}</label>
            <input id="filter-q" name="q" type="search" value={filters.q ?? ''} maxlength={200} />
          </div>
          {categories.length > 0 ? (
            <div class="field">
              <label for="filter-category">{t('filters.category')}</label>
              <select id="filter-category" name="category">
                <option value="">{t('filters.allCategories')}</option>
                {categories.map((row) => (
                  <option value={row.slug} selected={row.slug === filters.category}>
                    {`${'\u00a0\u00a0'.repeat(row.depth)}${row.name}`}
                  </option>
                ))}
              </select>
            </div>
          ) : null}
          <fieldset class="field-price">
            <legend>{t('filters.price', { currency: shop.currency })}</legend>
            <div class="field">
              <label for="filter-min">{t('filters.minPrice')}</label>
              <input id="filter-min" name="min" type="number" min="0" step={step} value={filters.min ?? ''} />
            </div>
            <div class="field">
              <label for="filter-max">{t('filters.maxPrice')}</label>
              <input id="filter-max" name="max" type="number" min="0" step={step} value={filters.max ?? ''} />
            </div>
          </fieldset>
          <div class="field">
            <label for="filter-sort">{t('filters.sort')}</label>
            <select id="filter-sort" name="sort">
              {(filters.q ? (['relevance', ...sorts] as const) : sorts).map((sort) => (
                <option
                  value={sort}
                  selected={sort === (filters.sort ?? (filters.q ? 'relevance' : 'newest'))}
                >
                  {t(`sort.${sort}`)}
                </option>
              ))}
            </select>
          </div>
          <div class="filter-actions">
            <button type="submit" class="button">
              {t('filters.apply')}
            </button>
            {filtered ? <a href="/">{t('filters.clear')}</a> : null}
          </div>
        </form>
      </search>

      <p class="result-count" data-testid="result-count">
        {t('results.count', { count: total })}
      </p>
      {products.length > 0 ? (
        <ul class="products" data-testid="product-list">
          {products.map((product) => (
            <li class="card" data-testid="product-card">
              <a class="card-link" href={`/items/${encodeURIComponent(product.slug)}`}>
                {product.images[0] ? (
                  <img
                    class="card-image"
                    src={product.images[0].url}
                    alt={product.images[0].alt}
                    loading="lazy"
                    decoding="async"
                  />
                ) : (
                  <span class="card-image placeholder" />
                )}
                <h2 class="card-title" dir="auto">
                  {product.title}
                </h2>
              </a>
              <p class="price" data-testid="price">
                {priceLabel(i18n, product, [product.price_minor])}
              </p>
              {product.in_stock ? null : <p class="stock stock-out">{t('stock.out')}</p>}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">{t('results.empty')}</p>
      )}

      {pages > 1 ? (
        <nav class="pagination" aria-label={t('pagination.label')}>
          {filters.page > 1 ? (
            <a rel="prev" href={pageLink(Math.min(filters.page - 1, pages))} data-testid="page-previous">
              <Chevron direction="back" />
              {t('pagination.previous')}
            </a>
          ) : null}
          <span aria-current="page">{t('pagination.status', { page: filters.page, pages })}</span>
          {filters.page < pages ? (
            <a rel="next" href={pageLink(filters.page + 1)} data-testid="page-next">
              {t('pagination.next')}
              <Chevron direction="forward" />
            </a>
          ) : null}
        </nav>
      ) : null}
    </Layout>
  );
}
