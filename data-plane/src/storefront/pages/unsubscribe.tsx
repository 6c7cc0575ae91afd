/** @jsxRuntime automatic @jsxImportSource preact */
import type { PageContext } from '../page-context.ts';
import { Layout } from './layout.tsx';

/**
 * The page an unsubscribe link opens: a question and a button. Opening the link changes
 * nothing (mail scanners follow links); the button's POST, to the same signed URL, does.
 */
export function UnsubscribeConfirmPage({ page, action }: { page: PageContext; action: string }) {
  const { t } = page.i18n;
  return (
    <Layout page={page} title={t('unsubscribe.title')} description={t('unsubscribe.title')} noindex>
      <div class="account-narrow">
        <h1>{t('unsubscribe.title')}</h1>
        <p>{t('unsubscribe.question', { shop: page.shop.name })}</p>
        <p class="note">{t('unsubscribe.note')}</p>
        <form method="post" action={action}>
          <button type="submit" data-testid="unsubscribe">
            {t('unsubscribe.submit')}
          </button>
        </form>
      </div>
    </Layout>
  );
}

export function UnsubscribedPage({ page }: { page: PageContext }) {
  const { t } = page.i18n;
  return (
    <Layout page={page} title={t('unsubscribe.doneTitle')} description={t('unsubscribe.doneTitle')} noindex>
      <div class="account-narrow">
        <h1>{t('unsubscribe.doneTitle')}</h1>
        <p data-testid="unsubscribed">{t('unsubscribe.done', { shop: page.shop.name })}</p>
        <p>
          <a href="/account">{t('unsubscribe.account')}</a>
        </p>
      </div>
    </Layout>
  );
}

/** A link whose signature does not match (400) or that names no account of the shop (404). */
export function BadUnsubscribeLinkPage({
  page,
  reason,
}: {
  page: PageContext;
  reason: 'forged' | 'unknown';
}) {
  const { t } = page.i18n;
  const body = t(reason === 'forged' ? 'unsubscribe.bad' : 'unsubscribe.unknown');
  return (
    <Layout page={page} title={t('unsubscribe.badTitle')} description={body} noindex>
      <div class="account-narrow">
        <h1>{t('unsubscribe.badTitle')}</h1>
        <p data-testid="bad-link">{body}</p>
        <p>
          <a class="button" href="/">
            {t('notFound.home')}
          </a>
        </p>
      </div>
    </Layout>
  );
}
