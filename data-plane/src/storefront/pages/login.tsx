/** @jsxRuntime automatic @jsxImportSource preact */
import { linkTo, type PageContext } from '../page-context.ts';
import { ErrorSummary, Field, type FormState } from './account-forms.tsx';
import { Layout } from './layout.tsx';

interface SignInProps {
  page: PageContext;
  state: FormState;
  /** Where to go after signing in: a local path, already checked. */
  next: string;
  /** Whether the shop lets buyers sign in with an email and password at all. */
  emailPassword: boolean;
  telegram: boolean;
}

const withNext = (path: string, next: string) =>
  linkTo(path, { next: next === '/account' ? undefined : next });

/** What a shop without email-and-password sign-in says instead of a form. */
function NoEmailPassword({ page, telegram }: { page: PageContext; telegram: boolean }) {
  const { t } = page.i18n;
  return (
    <div data-testid="sign-in-unavailable">
      <p>{t('login.unavailable')}</p>
      {telegram ? <p>{t('login.telegram')}</p> : null}
    </div>
  );
}

export function LoginPage({ page, state, next, emailPassword, telegram }: SignInProps) {
  const { t } = page.i18n;
  return (
    <Layout page={page} title={t('login.title')} description={t('login.title')} noindex>
      <div class="account-narrow">
        <h1>{t('login.title')}</h1>
        {emailPassword ? (
          <>
            <ErrorSummary i18n={page.i18n} form="login" problems={state.problems} />
            <form class="account-form" method="post" action="/login" novalidate>
              <input type="hidden" name="next" value={next} />
              <Field
                form="login"
                name="email"
                type="email"
                label={t('account.email')}
                autocomplete="email"
                dir="ltr"
                required
                state={state}
              />
              <Field
                form="login"
                name="password"
                type="password"
                label={t('account.password')}
                autocomplete="current-password"
                dir="ltr"
                required
                state={state}
              />
              <button type="submit">{t('login.submit')}</button>
            </form>
            <p>
              <a href={withNext('/register', next)}>{t('login.toRegister')}</a>
            </p>
          </>
        ) : (
          <NoEmailPassword page={page} telegram={telegram} />
        )}
      </div>
    </Layout>
  );
}

export function RegisterPage({
  page,
  state,
  next,
  emailPassword,
  telegram,
  passwordLength,
}: SignInProps & { passwordLength: { min: number; max: number } }) {
  const { t } = page.i18n;
  const marketingHintId = 'register-marketing-hint';
  return (
    <Layout page={page} title={t('register.title')} description={t('register.title')} noindex>
      <div class="account-narrow">
        <h1>{t('register.title')}</h1>
        {emailPassword ? (
          <>
            <ErrorSummary i18n={page.i18n} form="register" problems={state.problems} />
            <form class="account-form" method="post" action="/register" novalidate>
              <input type="hidden" name="next" value={next} />
              <Field
                form="register"
                name="email"
                type="email"
                label={t('account.email')}
                autocomplete="email"
                dir="ltr"
                required
                state={state}
              />
              <Field
                form="register"
                name="password"
                type="password"
                label={t('account.password')}
                hint={t('register.passwordHint', { min: passwordLength.min })}
                autocomplete="new-password"
                dir="ltr"
                required
                minLength={passwordLength.min}
                maxLength={passwordLength.max}
                state={state}
              />
              <Field
                form="register"
                name="display_name"
                label={t('register.name')}
                note={t('account.optional')}
                autocomplete="name"
                maxLength={120}
                state={state}
              />
              <div class="field account-check">
                <input
                  id="register-marketing"
                  name="marketing_opt_in"
                  type="checkbox"
                  value="on"
                  checked={state.values.marketing_opt_in === 'on'}
                  aria-describedby={marketingHintId}
                />
                <label for="register-marketing">{t('register.marketing')}</label>
                <p class="note" id={marketingHintId}>
                  {t('register.marketingHint')}
                </p>
              </div>
              <button type="submit">{t('register.submit')}</button>
            </form>
            <p>
              <a href={withNext('/login', next)}>{t('register.toLogin')}</a>
            </p>
          </>
        ) : (
          <NoEmailPassword page={page} telegram={telegram} />
        )}
      </div>
    </Layout>
  );
}
