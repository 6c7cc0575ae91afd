import { errorResponses, Strict } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import type { ServiceContext } from '../context.ts';
import { Buyer, clientOf, setSessionCookie } from './routes.ts';
import { publicBuyer } from './service.ts';
import { noTelegramBot, signInWithTelegram } from './telegram.ts';

const SignedIn = Strict({ buyer: Buyer });

/** Sign-in from the shop's Telegram Mini App. */
export async function telegramRoutes(app: App, ctx: ServiceContext) {
  app.post(
    '/api/storefront/telegram/session',
    {
      // Before validation: without a bot, every request gets the same 404.
      preValidation: async () => {
        if (!ctx.config.TELEGRAM_BOT_TOKEN) throw noTelegramBot();
      },
      schema: {
        tags: ['storefront'],
        summary: "Sign in from the shop's Telegram Mini App (sets the session cookie)",
        description:
          "`init_data` is the Mini App's `Telegram.WebApp.initData` as given. It must be signed with the shop's bot token and at most TELEGRAM_INIT_DATA_MAX_AGE_SECONDS old, and each one signs in once. The Telegram user's buyer account is created on the first sign-in (201). Refusals are 401 with type /problems/telegram-init-data-forged, -stale or -replayed; a shop without a bot answers 404.",
        body: Strict({ init_data: Type.String({ minLength: 1, maxLength: 4096 }) }),
        response: { 200: SignedIn, 201: SignedIn, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { buyer, session, created } = await signInWithTelegram(
        ctx,
        request.id,
        clientOf(request),
        request.body.init_data,
      );
      setSessionCookie(reply, session);
      return reply.code(created ? 201 : 200).send({ buyer: publicBuyer(buyer) });
    },
  );
}
