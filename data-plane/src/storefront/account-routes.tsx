/** @jsxRuntime automatic @jsxImportSource preact */
import { ProblemError, problem } from '@amanat/kit/http/problem';
import { Strict } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Value } from 'typebox/value';
import { addressFields, clientOf, Email, Password, setSessionCookie } from '../buyers/routes.ts';
import {
  type AddressInput,
  createAddress,
  deleteAddress,
  getBuyer,
  listAddresses,
  loginBuyer,
  logoutBuyer,
  MAX_ADDRESSES_PER_BUYER,
  registerBuyer,
  updateMe,
} from '../buyers/service.ts';
import {
  BUYER_SESSION_COOKIE,
  buyerActor,
  type CurrentBuyer,
  currentBuyer,
  sessionTokenOf,
} from '../buyers/session.ts';
import { buyerOfUnsubscribeLink, unsubscribeBySignedLink, unsubscribePath } from '../buyers/unsubscribe.ts';
import type { ServiceContext } from '../context.ts';
import { listBuyerOrders } from '../orders/queries.ts';
import { getSettings } from '../settings/service.ts';
import { loadPageContext, type PageContext } from './page-context.ts';
import { type AccountNotice, AccountPage, accountNotices } from './pages/account.tsx';
import { addressMaxLength, emptyForm, type FormProblem, type FormState } from './pages/account-forms.tsx';
import { NotFoundPage } from './pages/errors.tsx';
import { LoginPage, RegisterPage } from './pages/login.tsx';
import { BadUnsubscribeLinkPage, UnsubscribeConfirmPage, UnsubscribedPage } from './pages/unsubscribe.tsx';
import { formFields, isSameOriginPost, sendPage } from './respond.tsx';

const ACCOUNT = '/account';
const SIGN_IN_FOR_ACCOUNT = `/login?next=${ACCOUNT}`;
const ORDERS_PER_PAGE = 10;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PASSWORD_LENGTH = (({ minLength, maxLength }) => ({ min: minLength, max: maxLength }))(
  Password as unknown as { minLength: number; maxLength: number },
);
const DISPLAY_NAME_MAX = 120;
const NewAddress = Strict(addressFields);
const addressFieldNames = Object.keys(addressFields).filter((name) => name !== 'is_default');
const requiredAddressFields: readonly string[] = NewAddress.required;

/**
 * Account pages show one buyer's data: no cache may keep a copy (`no-store`), and they are
 * hidden from the OpenAPI document like every page route.
 */
const privatePage = {
  schema: { hide: true },
  onSend: async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    reply.header('cache-control', 'no-store');
    return payload;
  },
};

/**
 * Where to go after signing in: a path on this host (one leading `/`, nothing a browser
 * would read as another host), else the account page. Browsers treat `\` as `/` and drop
 * tabs and newlines, so `/\evil.example` or `/\t/evil.example` would leave the shop.
 */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || !/^\/(?![/\\])/.test(value) || /[\\\s\p{Cc}]/u.test(value)) return ACCOUNT;
  const base = 'https://shop.invalid';
  const url = new URL(value, base);
  return url.origin === base ? `${url.pathname}${url.search}${url.hash}` : ACCOUNT;
}

/**
 * The one page post that may come from another site: an RFC 8058 one-click unsubscribe,
 * which mail providers send from their own servers (no cookies; some browsers' mail clients
 * mark it `Sec-Fetch-Site: cross-site`). The storefront's cross-site check lets posts to
 * /unsubscribe through to the route, which accepts them only with the one-click body; the
 * link's signature, not the origin, is what authorises the change, and all it can do is
 * turn marketing email off for the buyer the link was made for.
 */
export const acceptsSignedCrossSitePost = (request: FastifyRequest) =>
  request.method === 'POST' && request.routeOptions.url === '/unsubscribe';

/** Which sign-in methods the shop offers (settings `features.login_methods`). */
async function loginMethods(ctx: ServiceContext) {
  const methods = (await getSettings(ctx.db, ctx.tenantId)).features.login_methods;
  return { emailPassword: methods.includes('email_password'), telegram: methods.includes('telegram') };
}

function validEmail(page: PageContext, email: string): FormProblem[] {
  return Value.Check(Email, email) ? [] : [{ field: 'email', message: page.i18n.t('account.error.email') }];
}

/** The page's words for what the buyer service refused; anything else is not the buyer's doing. */
function signInProblem(page: PageContext, error: unknown): { status: number; problem: FormProblem } {
  if (!(error instanceof ProblemError)) throw error;
  const { t } = page.i18n;
  switch (error.code) {
    case 'invalid-credentials':
      return { status: 401, problem: { field: 'password', message: t('account.error.credentials') } };
    case 'account-disabled':
      return { status: 403, problem: { message: t('account.error.disabled') } };
    case 'email-taken':
      return { status: 409, problem: { field: 'email', message: t('account.error.emailTaken') } };
    case 'too-many-requests': {
      const minutes = Math.ceil(Number(error.headers['retry-after'] ?? 60) / 60);
      return { status: 429, problem: { message: t('account.error.throttled', { minutes }) } };
    }
    default:
      throw error;
  }
}

const PERSIAN_DIGITS = '۰۱۲۳۴۵۶۷۸۹';
const ARABIC_DIGITS = '٠١٢٣٤٥٦٧٨٩';
/** Digits typed on a Persian or Arabic keyboard, as the ASCII digits the schema expects. */
const asciiDigits = (text: string) =>
  text.replace(/[\u06F0-\u06F9\u0660-\u0669]/g, (digit) =>
    String(Math.max(PERSIAN_DIGITS.indexOf(digit), ARABIC_DIGITS.indexOf(digit))),
  );

/** The add-address form as the address service's input, or what is wrong with it. */
function readAddressForm(
  page: PageContext,
  fields: Record<string, string>,
): { input: AddressInput; problems: FormProblem[] } {
  const { t } = page.i18n;
  const input: Record<string, unknown> = {};
  for (const name of addressFieldNames) {
    let value = (fields[name] ?? '').trim();
    if (name === 'phone' || name === 'postal_code') value = asciiDigits(value);
    // An empty optional field is left out; an empty required one stays, to be reported.
    if (value !== '' || requiredAddressFields.includes(name)) input[name] = value;
  }
  if (fields.is_default === 'on') input.is_default = true;
  const failing = new Set(
    [...Value.Errors(NewAddress, input)].map((error) => error.instancePath.split('/')[1]),
  );
  const problems = addressFieldNames
    .filter((name) => failing.has(name))
    .map((name): FormProblem => {
      const value = input[name];
      const message =
        value === ''
          ? t('account.error.required')
          : name === 'country'
            ? t('account.error.country')
            : name === 'postal_code'
              ? t('account.error.postalCode')
              : name === 'phone'
                ? t('account.error.phone')
                : t('account.error.tooLong', { max: addressMaxLength(name) ?? 0 });
      return { field: name, message };
    });
  return { input: input as unknown as AddressInput, problems };
}

/**
 * Sign-in, registration, sign-out, the buyer's account page and the signed unsubscribe
 * link, as forms that work without JavaScript. Every rule (password hashing, throttling,
 * sessions, the address limit, consent records) is the buyer service's.
 */
export async function accountRoutes(app: App, ctx: ServiceContext) {
  // ---- sign in and register

  async function signInPage(
    request: FastifyRequest,
    reply: FastifyReply,
    kind: 'login' | 'register',
    status: number,
    state: FormState,
    next: string,
  ) {
    const page = await loadPageContext(ctx, request, reply);
    const methods = await loginMethods(ctx);
    const props = { page, state, next, ...methods };
    return sendPage(
      reply,
      status,
      page.shop,
      kind === 'login' ? (
        <LoginPage {...props} />
      ) : (
        <RegisterPage {...props} passwordLength={PASSWORD_LENGTH} />
      ),
    );
  }

  for (const kind of ['login', 'register'] as const) {
    app.get(`/${kind}`, privatePage, async (request, reply) => {
      const next = safeNext((request.query as Record<string, unknown>).next);
      if (await currentBuyer(ctx, request)) return reply.redirect(next, 303);
      return signInPage(request, reply, kind, 200, emptyForm, next);
    });
  }

  app.post('/login', privatePage, async (request, reply) => {
    const fields = formFields(request.body);
    const next = safeNext(fields.next);
    const email = (fields.email ?? '').trim();
    const password = fields.password ?? '';
    const values = { email };
    const refuse = (status: number, problems: FormProblem[]) =>
      signInPage(request, reply, 'login', status, { values, problems }, next);
    if (!(await loginMethods(ctx)).emailPassword) return refuse(403, []);
    const page = await loadPageContext(ctx, request, reply);
    const problems = validEmail(page, email);
    if (password === '')
      problems.push({ field: 'password', message: page.i18n.t('account.error.passwordMissing') });
    else if (password.length > PASSWORD_LENGTH.max) {
      problems.push({ field: 'password', message: page.i18n.t('account.error.credentials') });
    }
    if (problems.length > 0) return refuse(400, problems);
    try {
      const { session } = await loginBuyer(ctx, request.id, clientOf(request), { email, password });
      setSessionCookie(reply, session);
      return reply.redirect(next, 303);
    } catch (error) {
      const refused = signInProblem(page, error);
      if (error instanceof ProblemError) reply.headers(error.headers);
      return refuse(refused.status, [refused.problem]);
    }
  });

  app.post('/register', privatePage, async (request, reply) => {
    const fields = formFields(request.body);
    const next = safeNext(fields.next);
    const email = (fields.email ?? '').trim();
    const password = fields.password ?? '';
    const displayName = (fields.display_name ?? '').trim();
    const marketing = fields.marketing_opt_in === 'on';
    const values = { email, display_name: displayName, ...(marketing ? { marketing_opt_in: 'on' } : {}) };
    const refuse = (status: number, problems: FormProblem[]) =>
      signInPage(request, reply, 'register', status, { values, problems }, next);
    if (!(await loginMethods(ctx)).emailPassword) return refuse(403, []);
    const page = await loadPageContext(ctx, request, reply);
    const { t } = page.i18n;
    const problems = validEmail(page, email);
    if (password.length < PASSWORD_LENGTH.min) {
      problems.push({
        field: 'password',
        message: t('account.error.passwordShort', { min: PASSWORD_LENGTH.min }),
      });
    } else if (password.length > PASSWORD_LENGTH.max) {
      problems.push({ field: 'password', message: t('account.error.tooLong', { max: PASSWORD_LENGTH.max }) });
    }
    if (displayName.length > DISPLAY_NAME_MAX) {
      problems.push({
        field: 'display_name',
        message: t('account.error.tooLong', { max: DISPLAY_NAME_MAX }),
      });
    }
    if (problems.length > 0) return refuse(400, problems);
    try {
      const { session } = await registerBuyer(ctx, request.id, clientOf(request), {
        email,
        password,
        ...(displayName ? { display_name: displayName } : {}),
        marketing_opt_in: marketing,
      });
      setSessionCookie(reply, session);
      return reply.redirect(next, 303);
    } catch (error) {
      const refused = signInProblem(page, error);
      return refuse(refused.status, [refused.problem]);
    }
  });

  app.post('/logout', privatePage, async (request, reply) => {
    const token = sessionTokenOf(request);
    if (token) await logoutBuyer(ctx, request.id, token);
    reply.clearCookie(BUYER_SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'lax' });
    return reply.redirect('/', 303);
  });

  // ---- the account page

  /** The signed-in buyer, or null after sending a guest to sign in (and back here afterwards). */
  async function signedIn(request: FastifyRequest, reply: FastifyReply): Promise<CurrentBuyer | null> {
    const buyer = await currentBuyer(ctx, request);
    if (!buyer) reply.redirect(SIGN_IN_FOR_ACCOUNT, 303);
    return buyer;
  }

  async function accountPage(
    request: FastifyRequest,
    reply: FastifyReply,
    buyerId: string,
    options: { status?: number; addressForm?: FormState; notice?: AccountNotice; ordersPage?: number } = {},
  ) {
    const page = await loadPageContext(ctx, request, reply);
    const [buyer, orders, addresses] = await Promise.all([
      getBuyer(ctx.db, ctx.tenantId, buyerId),
      listBuyerOrders(ctx, buyerId, { page: options.ordersPage ?? 1, limit: ORDERS_PER_PAGE }),
      listAddresses(ctx, buyerId),
    ]);
    if (!buyer) return reply.redirect(SIGN_IN_FOR_ACCOUNT, 303);
    const pages = Math.max(1, Math.ceil(orders.total / ORDERS_PER_PAGE));
    return sendPage(
      reply,
      options.status ?? 200,
      page.shop,
      <AccountPage
        page={page}
        buyer={buyer}
        orders={{ items: orders.items, page: orders.page, pages }}
        addresses={addresses}
        addressForm={options.addressForm ?? emptyForm}
        notice={options.notice}
      />,
    );
  }

  app.get(ACCOUNT, privatePage, async (request, reply) => {
    const buyer = await signedIn(request, reply);
    if (!buyer) return reply;
    const query = request.query as Record<string, unknown>;
    const asked = Number(query.page);
    const ordersPage = Number.isInteger(asked) && asked >= 1 && asked <= 100_000 ? asked : 1;
    const notice = typeof query.done === 'string' && query.done in accountNotices ? query.done : undefined;
    return accountPage(request, reply, buyer.id, { ordersPage, notice: notice as AccountNotice | undefined });
  });

  app.post(`${ACCOUNT}/addresses`, privatePage, async (request, reply) => {
    const buyer = await signedIn(request, reply);
    if (!buyer) return reply;
    const fields = formFields(request.body);
    const page = await loadPageContext(ctx, request, reply);
    const { input, problems } = readAddressForm(page, fields);
    const values = Object.fromEntries(
      [...addressFieldNames, 'is_default'].map((name) => [name, fields[name] ?? '']),
    );
    if (problems.length > 0) {
      return accountPage(request, reply, buyer.id, { status: 400, addressForm: { values, problems } });
    }
    try {
      await createAddress(ctx, buyerActor(request, buyer.id), buyer.id, input);
    } catch (error) {
      if (!(error instanceof ProblemError && error.code === 'too-many-addresses')) throw error;
      const message = page.i18n.t('account.error.tooManyAddresses', { max: MAX_ADDRESSES_PER_BUYER });
      return accountPage(request, reply, buyer.id, {
        status: 409,
        addressForm: { values, problems: [{ message }] },
      });
    }
    return reply.redirect(`${ACCOUNT}?done=address-added#addresses`, 303);
  });

  app.post(`${ACCOUNT}/addresses/:id/delete`, privatePage, async (request, reply) => {
    const buyer = await signedIn(request, reply);
    if (!buyer) return reply;
    const { id } = request.params as { id: string };
    try {
      if (!UUID.test(id)) throw problem.notFound('No such address in your account.');
      await deleteAddress(ctx, buyerActor(request, buyer.id), buyer.id, id.toLowerCase());
    } catch (error) {
      if (!(error instanceof ProblemError && error.status === 404)) throw error;
      const page = await loadPageContext(ctx, request, reply);
      return sendPage(reply, 404, page.shop, <NotFoundPage page={page} />);
    }
    return reply.redirect(`${ACCOUNT}?done=address-deleted#addresses`, 303);
  });

  app.post(`${ACCOUNT}/marketing`, privatePage, async (request, reply) => {
    const buyer = await signedIn(request, reply);
    if (!buyer) return reply;
    const choice = formFields(request.body).marketing_opt_in;
    if (choice !== 'true' && choice !== 'false')
      return accountPage(request, reply, buyer.id, { status: 400 });
    const optIn = choice === 'true';
    await updateMe(ctx, buyerActor(request, buyer.id), buyer.id, { marketing_opt_in: optIn });
    return reply.redirect(`${ACCOUNT}?done=${optIn ? 'marketing-on' : 'marketing-off'}#marketing`, 303);
  });

  // ---- unsubscribe by signed link

  function signedLink(request: FastifyRequest) {
    const query = request.query as Record<string, unknown>;
    return {
      buyerId: typeof query.b === 'string' ? query.b : '',
      sig: typeof query.sig === 'string' ? query.sig : '',
    };
  }

  /** A link that does not verify: 400 when forged or cut short, 404 when its buyer is gone. */
  async function badLink(request: FastifyRequest, reply: FastifyReply, error: unknown) {
    if (!(error instanceof ProblemError) || (error.status !== 400 && error.status !== 404)) throw error;
    const page = await loadPageContext(ctx, request, reply);
    const reason = error.status === 400 ? 'forged' : 'unknown';
    return sendPage(reply, error.status, page.shop, <BadUnsubscribeLinkPage page={page} reason={reason} />);
  }

  app.get('/unsubscribe', privatePage, async (request, reply) => {
    const { buyerId, sig } = signedLink(request);
    try {
      const buyer = await buyerOfUnsubscribeLink(ctx, buyerId, sig);
      const page = await loadPageContext(ctx, request, reply);
      const action = unsubscribePath(ctx, buyer.id);
      return sendPage(reply, 200, page.shop, <UnsubscribeConfirmPage page={page} action={action} />);
    } catch (error) {
      return badLink(request, reply, error);
    }
  });

  app.post('/unsubscribe', privatePage, async (request, reply) => {
    const oneClick = formFields(request.body)['List-Unsubscribe'] === 'One-Click';
    if (!oneClick && !isSameOriginPost(request)) {
      throw problem.forbidden('cross-site-form', 'This form can only be sent from the shop’s own pages.');
    }
    const { buyerId, sig } = signedLink(request);
    try {
      await unsubscribeBySignedLink(ctx, request.id, buyerId, sig);
    } catch (error) {
      return badLink(request, reply, error);
    }
    const page = await loadPageContext(ctx, request, reply);
    return sendPage(reply, 200, page.shop, <UnsubscribedPage page={page} />);
  });
}
