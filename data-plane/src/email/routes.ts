import { errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { adminEmailView, listEmails } from './queries.ts';
import { emailKinds, emailStatuses } from './schema.ts';
import { retryEmail } from './service.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const EmailStatusSchema = literals(emailStatuses);

export const AdminEmail = Strict({
  id: Uuid,
  kind: literals(emailKinds),
  order_id: Uuid,
  to: Type.String({ description: 'the recipient address' }),
  status: EmailStatusSchema,
  attempts: Type.Integer({ minimum: 0, description: 'sending attempts made so far' }),
  next_attempt_at: Nullable(Timestamp),
  last_error: Nullable(Type.String({ description: "the last attempt's SMTP error" })),
  sent_at: Nullable(Timestamp),
  smtp_message_id: Nullable(Type.String()),
  smtp_response: Nullable(Type.String({ description: "the SMTP server's answer when it took the message" })),
  created_at: Timestamp,
});

/** Email the shop sent or is sending to its buyers, for staff (permission emails.read). */
export async function emailRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  app.get(
    '/api/admin/emails',
    {
      preValidation: requirePermission(verifyStaff, 'emails.read'),
      schema: {
        tags: ['admin'],
        summary: "The shop's email to buyers and where each stands, newest first, paged",
        description:
          'Queued, sent or failed, with attempts, the last error and the SMTP answer. Empty when the shop has no SMTP_URL.',
        querystring: Strict({
          status: Type.Optional(Type.Array(EmailStatusSchema, { maxItems: emailStatuses.length })),
          order_id: Type.Optional(Uuid),
          page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        }),
        response: {
          200: Strict({
            items: Type.Array(AdminEmail),
            page: Type.Integer(),
            limit: Type.Integer(),
            total: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) =>
      listEmails(ctx, {
        ...request.query,
        page: request.query.page ?? 1,
        limit: request.query.limit ?? 20,
      }),
  );

  app.post(
    '/api/admin/emails/:id/retry',
    {
      preValidation: requirePermission(verifyStaff, 'emails.retry'),
      schema: {
        tags: ['admin'],
        summary: 'Send a failed email again, from its first attempt',
        description:
          '404 for an email this shop does not have; 409 (email-not-failed) unless it failed — a queued one is already on its way and a sent one would arrive twice. Audited.',
        params: Strict({ id: Uuid }),
        response: { 200: AdminEmail, ...errorResponses },
      },
    },
    async (request) =>
      adminEmailView(await retryEmail(ctx, staffActor(request), request.params.id.toLowerCase())),
  );
}
