import { and, eq, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';
import { type Poller, startPoller } from '../background/poller.ts';
import type { ServiceContext } from '../context.ts';
import { backoffMs } from '../events/dispatcher.ts';
import { storefrontOrderDetail } from '../orders/access.ts';
import { findOrder } from '../orders/service.ts';
import { loadShop } from '../storefront/page-context.ts';
import { renderOrderConfirmation } from './render.tsx';
import { type EmailKind, emailMessages } from './schema.ts';
import { tokenSealingContext } from './service.ts';

/**
 * The email sender. Each round claims due queued messages with `SELECT … FOR UPDATE SKIP
 * LOCKED` and, in the same statement, counts the attempt and pushes next_attempt_at forward
 * by a lease, so no other replica's sender picks a message up while this one sends it (and a
 * crashed sender's messages come back when the lease runs out). Each message is rendered from
 * the current order and the shop's settings and sent over SMTP with nodemailer; then it is
 * marked sent, or retried after an exponential backoff, or — after the last attempt — failed.
 * The marking is guarded by the attempt count the claim set, so a sender whose lease ran out
 * cannot overwrite what a later one recorded.
 */
export interface SendOptions {
  /** Messages claimed per round; they are sent concurrently. */
  batchSize?: number;
  /** Attempts per message before it is marked failed (at least 3). */
  maxAttempts?: number;
  /** First retry delay; doubles with each attempt. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** SMTP connection, greeting and socket-inactivity timeouts. */
  timeoutMs?: number;
  /** How long a claim keeps other senders away; longer than a round can take. */
  leaseMs?: number;
  /** The clock, for tests that step through backoff. */
  now?: () => Date;
  log?: SenderLog;
}

type SenderLog = Pick<FastifyBaseLogger, 'warn' | 'error' | 'info' | 'debug'>;

export const sendDefaults = {
  batchSize: 10,
  maxAttempts: 5,
  baseDelayMs: 60_000,
  maxDelayMs: 3_600_000,
  timeoutMs: 30_000,
  leaseMs: 600_000,
} as const;

export interface SendReport {
  claimed: number;
  sent: number;
  retrying: number;
  failed: number;
}

interface ClaimedMessage {
  id: string;
  kind: EmailKind;
  orderId: string;
  toAddress: string;
  sealedToken: string | null;
  /** This attempt's number (the claim counted it). */
  attempt: number;
}

type Outcome =
  | { ok: true; messageId: string; response: string }
  | { ok: false; error: string; code: string | null };

async function claimDueMessages(
  ctx: ServiceContext,
  now: Date,
  clockGiven: boolean,
  limit: number,
  leaseMs: number,
): Promise<ClaimedMessage[]> {
  // Without a test clock, "due" is judged by the database's own clock: queued rows get their
  // next_attempt_at from it, with microseconds a JavaScript Date would truncate. The claim is
  // a materialized CTE so it runs once: as a subquery in UPDATE … FROM, the planner may put
  // it inside a nested loop and rescan it per row, and each rescan locks another batch.
  const dueBy = clockGiven ? sql`${now}::timestamptz` : sql`clock_timestamp()`;
  const result = await ctx.db.execute<{
    id: string;
    kind: EmailKind;
    order_id: string;
    to_address: string;
    sealed_token: string | null;
    attempts: number;
  }>(sql`
    WITH due AS MATERIALIZED (
      SELECT id FROM email_messages
      WHERE tenant_id = ${ctx.tenantId} AND status = 'queued' AND next_attempt_at <= ${dueBy}
      ORDER BY next_attempt_at, id
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE email_messages AS m
    SET attempts = m.attempts + 1, next_attempt_at = ${new Date(now.getTime() + leaseMs)}
    FROM due
    WHERE m.id = due.id AND m.tenant_id = ${ctx.tenantId}
    RETURNING m.id, m.kind, m.order_id, m.to_address, m.sealed_token, m.attempts`);
  return result.rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    orderId: row.order_id,
    toAddress: row.to_address,
    sealedToken: row.sealed_token,
    attempt: row.attempts,
  }));
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const errorCode = (error: unknown): string | null => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
};

/**
 * An SMTP failure as it may be stored and shown to staff: the message and its code, with the
 * URL's credentials (raw and percent-decoded) and the URL itself cut out wherever they appear.
 */
export function smtpErrorText(error: unknown, smtpUrl: string | undefined): string {
  const message = error instanceof Error ? error.message : 'sending failed';
  const code = errorCode(error);
  let text = code && !message.includes(code) ? `${message} (${code})` : message;
  const url = smtpUrl && URL.canParse(smtpUrl) ? new URL(smtpUrl) : null;
  const secrets = url
    ? [smtpUrl as string, url.password, url.username].flatMap((part) => (part ? [part, decoded(part)] : []))
    : [];
  // Longest first: the whole URL goes before the password inside it.
  for (const secret of secrets.sort((a, b) => b.length - a.length)) {
    text = text.replaceAll(secret, '[redacted]');
  }
  return text.slice(0, 500);
}

/** The message's stable Message-ID: a resend of the same row carries the same one. */
export const messageIdOf = (ctx: ServiceContext, id: string) => `<${id}@${ctx.config.canonicalHostname}>`;

async function render(ctx: ServiceContext, message: ClaimedMessage) {
  const order = await findOrder(ctx.db, ctx.tenantId, message.orderId);
  if (!order) throw new Error(`order ${message.orderId} is not in this shop`);
  const [shop, view] = await Promise.all([loadShop(ctx), storefrontOrderDetail(ctx, order)]);
  const token = message.sealedToken
    ? ctx.config.keyring.open(message.sealedToken, tokenSealingContext(ctx.tenantId, message.id))
    : null;
  return { shop, email: renderOrderConfirmation({ shop, order: view, token }) };
}

async function deliver(
  ctx: ServiceContext,
  transport: Transporter,
  message: ClaimedMessage,
): Promise<Outcome> {
  try {
    const { shop, email } = await render(ctx, message);
    const info = await transport.sendMail({
      from: { name: shop.name, address: ctx.config.mailFrom },
      to: message.toAddress,
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId: messageIdOf(ctx, message.id),
      headers: { 'Content-Language': email.locale },
    });
    return { ok: true, messageId: info.messageId, response: String(info.response ?? '') };
  } catch (error) {
    return { ok: false, error: smtpErrorText(error, ctx.config.SMTP_URL), code: errorCode(error) };
  }
}

/**
 * One nodemailer transport per round, from SMTP_URL. Its EHLO name is the shop's host: by
 * default it would be this machine's hostname, which receiving servers write into the
 * message's Received header. nodemailer is loaded on the first round with mail to send, so
 * an idle data plane does not carry it.
 */
async function smtpTransport(ctx: ServiceContext, timeoutMs: number): Promise<Transporter> {
  const { createTransport } = await import('nodemailer');
  return createTransport({
    url: ctx.config.SMTP_URL,
    name: ctx.config.canonicalHostname,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
  });
}

/** One sender round: claim due messages, send them, record each outcome. */
export async function sendDueEmails(ctx: ServiceContext, options: SendOptions = {}): Promise<SendReport> {
  const o = { ...sendDefaults, ...options };
  const maxAttempts = Math.max(3, o.maxAttempts);
  const now = o.now?.() ?? new Date();
  const report: SendReport = { claimed: 0, sent: 0, retrying: 0, failed: 0 };

  const messages = await claimDueMessages(ctx, now, o.now !== undefined, o.batchSize, o.leaseMs);
  report.claimed = messages.length;
  if (messages.length === 0) return report;

  const transport = await smtpTransport(ctx, o.timeoutMs);
  try {
    await Promise.all(
      messages.map(async (message) => {
        const outcome = await deliver(ctx, transport, message);
        const claimedNow = and(
          eq(emailMessages.tenantId, ctx.tenantId),
          eq(emailMessages.id, message.id),
          eq(emailMessages.status, 'queued'),
          eq(emailMessages.attempts, message.attempt),
        );
        if (outcome.ok) {
          await ctx.db
            .update(emailMessages)
            .set({
              status: 'sent',
              sentAt: now,
              smtpMessageId: outcome.messageId,
              smtpResponse: outcome.response.slice(0, 500),
              lastError: null,
              // The link is in the buyer's mailbox now; the token need not stay here.
              sealedToken: null,
            })
            .where(claimedNow);
          report.sent += 1;
          return;
        }
        const final = message.attempt >= maxAttempts;
        await ctx.db
          .update(emailMessages)
          .set(
            final
              ? { status: 'failed', lastError: outcome.error }
              : {
                  lastError: outcome.error,
                  nextAttemptAt: new Date(now.getTime() + backoffMs(message.attempt - 1, o)),
                },
          )
          .where(claimedNow);
        report[final ? 'failed' : 'retrying'] += 1;
        // The error text stays in the row (staff see it): it may quote the recipient's address.
        o.log?.warn(
          {
            emailId: message.id,
            kind: message.kind,
            attempt: message.attempt,
            code: outcome.code,
            outcome: final ? 'failed' : 'retrying',
          },
          'email delivery failed',
        );
      }),
    );
  } finally {
    transport.close();
  }
  return report;
}

/**
 * Runs sendDueEmails on an interval (immediately again while rounds come back full) until
 * stopped. main.ts starts it only when SMTP_URL is set.
 */
export function startEmailSender(
  ctx: ServiceContext,
  log: SenderLog,
  options: Omit<SendOptions, 'log'> & { intervalMs?: number } = {},
): Poller {
  const batchSize = options.batchSize ?? sendDefaults.batchSize;
  return startPoller(
    async () => {
      const report = await sendDueEmails(ctx, { ...options, log });
      if (report.claimed > 0) log.info({ ...report }, 'email round');
      return { fullBatch: report.claimed >= batchSize };
    },
    {
      intervalMs: options.intervalMs ?? 1000,
      onError: (error) => log.error({ err: error }, 'email round failed'),
    },
  );
}
