import { problem } from '@amanat/kit/http/problem';
import { errorResponses, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import type { LocalMailbox, MailSummary, StoredMail } from '@amanat/kit/mail/local-mailbox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { hostnameOf } from './router.ts';

/**
 * Markup that is already safe: everything else put into a page is escaped. Written by hand
 * because the control plane renders no other HTML: a tagged template that escapes every
 * interpolation is all these developer pages need, where a renderer (preact, as the data
 * plane's storefront uses) would be a new dependency for three pages.
 */
class Html {
  constructor(readonly value: string) {}
}

type Content = string | number | Html | Content[];

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function render(content: Content): string {
  if (content instanceof Html) return content.value;
  if (Array.isArray(content)) return content.map(render).join('');
  return String(content).replace(/[&<>"']/g, (character) => ENTITIES[character] ?? character);
}

/** A template whose every interpolation is escaped (text and attribute values alike) unless it is Html. */
function html(strings: TemplateStringsArray, ...values: Content[]): Html {
  return new Html(strings.reduce((out, string, index) => out + render(values[index - 1] ?? '') + string));
}

/**
 * The message's HTML part is the sender's markup: it is shown only inside an iframe sandboxed
 * with no permissions (no scripts, no forms, no top navigation, an opaque origin). An srcdoc
 * document inherits this policy too, so it is what email markup is held to as well: inline
 * styles (emails are styled inline) and images (a shop's logo, inline parts as data: URLs),
 * nothing else — no script, font, connection, form target or <base>, and no framing of these pages.
 */
const PAGE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The raw message is shown as text, and even if sniffed as a page it could run nothing. */
const RAW_POLICY = "default-src 'none'; sandbox";

const STYLE = new Html(`
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem; color: #1a1a1a; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .6rem; border-bottom: 1px solid #ddd; }
th { font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: .75rem; }
iframe { width: 100%; height: 32rem; border: 1px solid #ccc; resize: vertical; background: #fff; }
.muted { color: #666; }
`);

function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`.value;
}

function sendPage(reply: FastifyReply, status: number, title: string, body: Html) {
  return reply
    .code(status)
    .headers({
      'content-security-policy': PAGE_POLICY,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    })
    .type('text/html; charset=utf-8')
    .send(page(title, body));
}

const home = html`<p><a href="/mailbox">Local mailbox</a></p>`;

function sendErrorPage(reply: FastifyReply, status: 400 | 404, detail: string) {
  const title = status === 404 ? 'No such message' : 'Not a message id';
  return sendPage(reply, status, title, html`${home}<h1>${title}</h1><p>${detail}</p>`);
}

/** `2026-05-01T09:30:00.000Z` → `2026-05-01 09:30:00 UTC`. */
const when = (iso: string) => html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;

const subjectOf = (mail: MailSummary) => mail.subject || '(no subject)';

const listRow = (mail: MailSummary) =>
  html`<tr><td>${when(mail.receivedAt)}</td><td><bdi>${mail.from}</bdi></td><td>${mail.to.join(', ')}</td>
<td><a href="/mailbox/${mail.id}"><bdi>${subjectOf(mail)}</bdi></a></td></tr>`;

function listPage(mailbox: LocalMailbox, messages: MailSummary[]): Html {
  return html`<h1>Local mailbox</h1>
<p class="muted">The email the local platform sent, newest first. None of it left this machine: the data
planes send to ${mailbox.url}, which keeps every message. <a href="/mailbox.json">JSON</a></p>
${
  messages.length === 0
    ? html`<p>No email yet.</p>`
    : html`<table><thead><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th></tr></thead>
<tbody>${messages.map(listRow)}</tbody></table>`
}`;
}

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"']+/g;

/** The text part with its web links clickable: the HTML part's links cannot leave its sandbox. */
function linkified(text: string): Content[] {
  const parts: Content[] = [];
  let from = 0;
  for (const match of text.matchAll(URL_IN_TEXT)) {
    // A sentence's closing punctuation is not part of the link.
    const url = match[0].replace(/[.,;:!?)\]]+$/, '');
    parts.push(text.slice(from, match.index), html`<a href="${url}" rel="noreferrer">${url}</a>`);
    from = match.index + url.length;
  }
  parts.push(text.slice(from));
  return parts;
}

function messagePage(mail: StoredMail): Html {
  return html`${home}<h1 dir="auto">${subjectOf(mail)}</h1>
<dl><dt>From</dt><dd><bdi>${mail.from}</bdi></dd><dt>To</dt><dd>${mail.to.join(', ')}</dd>
<dt>Received</dt><dd>${when(mail.receivedAt)}</dd></dl>
<p><a href="/mailbox/${mail.id}.eml">Raw message</a> · <a href="/mailbox/${mail.id}.json">JSON</a></p>
${
  mail.html === null
    ? ''
    : html`<h2>HTML part</h2>
<iframe sandbox="" srcdoc="${mail.html}" title="The HTML part of the message" referrerpolicy="no-referrer"></iframe>`
}
<h2>Text part</h2>
<pre dir="auto">${mail.text ? linkified(mail.text) : html`<span class="muted">(none)</span>`}</pre>
<h2>Headers</h2>
<table><tbody>${Object.entries(mail.headers).map(
    ([name, value]) => html`<tr><th>${name}</th><td>${value}</td></tr>`,
  )}</tbody></table>`;
}

const summaryJson = (mail: MailSummary) => ({
  id: mail.id,
  received_at: mail.receivedAt,
  from: mail.from,
  to: mail.to,
  subject: mail.subject,
});

const SummaryFields = {
  id: Uuid,
  received_at: Timestamp,
  from: Type.String({ description: 'The From header as sent, display name and all' }),
  to: Type.Array(Type.String(), { description: 'The recipients’ addresses' }),
  subject: Type.String(),
};

const MessageParams = Strict({ id: Uuid });

const isLoopback = (address: string) =>
  address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');

/**
 * The local mailbox on the admin host: `/mailbox` (the list), `/mailbox/<id>` (one message),
 * `/mailbox/<id>.eml` (its source) and the JSON of both for tests and scripts. Only the local
 * platform registers these routes; production's control plane and its OpenAPI document never
 * have them.
 *
 * They ask for no sign-in, as maildev does not: the admin routes want a bearer token that a
 * browser does not send by itself, and what the mailbox holds is the email the local demo
 * shops sent. The guard below keeps them on this machine instead: the peer must be on loopback
 * (the router listens on loopback only; the control plane may be bound wider through HOST) and
 * the Host must be a local name — a web page that rebinds its own domain to 127.0.0.1 sends
 * its own name and is refused.
 */
export async function mailboxRoutes(app: App, mailbox: LocalMailbox, options: { adminHost: string }) {
  const localHosts = new Set([options.adminHost, 'localhost', '127.0.0.1', '[::1]']);
  const onRequest = async (request: FastifyRequest) => {
    if (
      !isLoopback(request.socket.remoteAddress ?? '') ||
      !localHosts.has(hostnameOf(request.headers.host))
    ) {
      throw problem.forbidden(
        'mailbox-local-only',
        `The mailbox answers on this machine only, at http://${options.adminHost}/mailbox through the router.`,
      );
    }
  };
  const hidden = { hide: true };
  const documented = { tags: ['local'], security: [] };

  app.get('/mailbox', { onRequest, schema: hidden }, async (_request, reply) =>
    sendPage(reply, 200, 'Local mailbox', listPage(mailbox, await mailbox.list())),
  );

  app.get(
    '/mailbox.json',
    {
      onRequest,
      schema: {
        ...documented,
        summary: 'Local platform only: the email the local mailbox received, newest first',
        response: { 200: Strict({ items: Type.Array(Strict(SummaryFields)) }), ...errorResponses },
      },
    },
    async () => ({ items: (await mailbox.list()).map(summaryJson) }),
  );

  app.get(
    '/mailbox/:id.json',
    {
      onRequest,
      schema: {
        ...documented,
        summary: 'Local platform only: one message of the local mailbox, its headers and parts',
        params: MessageParams,
        response: {
          200: Strict({
            ...SummaryFields,
            message_id: Type.Union([Type.String(), Type.Null()]),
            headers: Type.Record(Type.String(), Type.String()),
            text: Type.String(),
            html: Type.Union([Type.String(), Type.Null()], { description: 'The HTML part, as sent' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const mail = await mailbox.get(request.params.id);
      if (!mail) throw problem.notFound(`No message ${request.params.id} in the mailbox.`);
      return {
        ...summaryJson(mail),
        message_id: mail.messageId,
        headers: mail.headers,
        text: mail.text,
        html: mail.html,
      };
    },
  );

  // The pages a browser opens answer a bad or unknown id with a page, not problem+json.
  const pageRoute = { onRequest, attachValidation: true, schema: { ...hidden, params: MessageParams } };

  app.get('/mailbox/:id.eml', pageRoute, async (request, reply) => {
    if (request.validationError)
      return sendErrorPage(reply, 400, `“${request.params.id}” is not a message id.`);
    const mail = await mailbox.get(request.params.id);
    if (!mail) return sendErrorPage(reply, 404, 'The mailbox has no message with this id.');
    return reply
      .headers({
        'content-security-policy': RAW_POLICY,
        'x-content-type-options': 'nosniff',
        'content-disposition': `inline; filename="${mail.id}.eml"`,
        'cache-control': 'no-store',
      })
      .type('text/plain; charset=utf-8')
      .send(mail.raw);
  });

  app.get('/mailbox/:id', pageRoute, async (request, reply) => {
    if (request.validationError)
      return sendErrorPage(reply, 400, `“${request.params.id}” is not a message id.`);
    const mail = await mailbox.get(request.params.id);
    if (!mail) return sendErrorPage(reply, 404, 'The mailbox has no message with this id.');
    return sendPage(reply, 200, subjectOf(mail), messagePage(mail));
  });
}
