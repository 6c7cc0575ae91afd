/** @jsxRuntime automatic @jsxImportSource preact */
import type { PageContext } from '../page-context.ts';
import { Layout } from './layout.tsx';

/** Served with 404 for unknown paths and items that are not (or no longer) sold. */
export function NotFoundPage({ page }: { page: PageContext }) {
  const { t } = page.i18n;
  return (
    <Layout page={page} title={t('notFound.title')} description={t('notFound.body')} noindex>
      <h1>{t('notFound.title')}</h1>
      <p>{t('notFound.body')}</p>
      <p>
        <a class="button" href="/">
          {t('notFound.home')}
        </a>
      </p>
    </Layout>
  );
}

/** Served with 503 for every page while the shop is suspended. */
export function UnavailablePage({ page }: { page: PageContext }) {
  const { t } = page.i18n;
  return (
    <Layout page={page} title={t('unavailable.title')} description={t('unavailable.body')} noindex bare>
      <h1>{t('unavailable.title')}</h1>
      <p>{t('unavailable.body')}</p>
    </Layout>
  );
}
