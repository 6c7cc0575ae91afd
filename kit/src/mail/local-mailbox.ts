import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One message as the mailbox lists it. */
export interface MailSummary {
  id: string;
  /** When the mailbox accepted it. */
  receivedAt: string;
  /** As the From header shows it, display name and all. */
  from: string;
  /** The recipients' addresses. */
  to: string[];
  subject: string;
}

/** One message whole: its headers, text and HTML parts, and its raw source. */
export interface StoredMail extends MailSummary {
  messageId: string | null;
  text: string;
  html: string | null;
  headers: Record<string, string>;
  raw: string;
}

export interface LocalMailbox {
  /** What a sender connects to: `smtp://127.0.0.1:<port>` (plain SMTP on loopback, no login). */
  readonly url: string;
  /** Every message, newest first. */
  list(): Promise<MailSummary[]>;
  get(id: string): Promise<StoredMail | undefined>;
  stop(): Promise<void>;
}

export interface LocalMailboxOptions {
  /** Where messages are kept, one `.eml` file each; they outlive the process. */
  dir: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Largest message accepted, in bytes. */
  sizeLimit?: number;
}

const MESSAGE_FILE = /^(\d{13})-([0-9a-f-]{36})\.eml$/;

type ParsedAddresses = { text: string; value: { address?: string }[] };

function addresses(value: ParsedAddresses | ParsedAddresses[] | undefined): string[] {
  if (!value) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((list) =>
    list.value.flatMap((entry) => (entry.address ? [entry.address] : [])),
  );
}

/**
 * A real SMTP server on loopback that keeps what it receives instead of relaying it: outgoing
 * email in local development lands here, where a person can read it, and tests read what a
 * program really sent over SMTP. smtp-server speaks the protocol and mailparser reads the
 * messages; this only files them.
 */
export async function startLocalMailbox(options: LocalMailboxOptions): Promise<LocalMailbox> {
  await mkdir(options.dir, { recursive: true });
  const sizeLimit = options.sizeLimit ?? 10 * 2 ** 20;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: sizeLimit,
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('message exceeds the mailbox size limit'), { responseCode: 552 }));
          return;
        }
        const name = `${Date.now()}-${randomUUID()}.eml`;
        const temporary = join(options.dir, `.${name}.tmp`);
        // Written whole, then renamed: a reader never sees half a message.
        writeFile(temporary, Buffer.concat(chunks))
          .then(() => rename(temporary, join(options.dir, name)))
          .then(() => callback(), callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;

  async function read(name: string): Promise<StoredMail> {
    const raw = await readFile(join(options.dir, name), 'utf8');
    const parsed = await simpleParser(raw);
    const [, receivedAt = '0', id = name] = MESSAGE_FILE.exec(name) ?? [];
    const headers: Record<string, string> = {};
    for (const line of parsed.headerLines) {
      const colon = line.line.indexOf(':');
      headers[line.key] = line.line.slice(colon + 1).trim();
    }
    return {
      id,
      receivedAt: new Date(Number(receivedAt)).toISOString(),
      from: parsed.from?.text ?? '',
      to: addresses(parsed.to),
      subject: parsed.subject ?? '',
      messageId: parsed.messageId ?? null,
      text: parsed.text ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : null,
      headers,
      raw,
    };
  }

  async function messageFiles(): Promise<string[]> {
    return (await readdir(options.dir))
      .filter((name) => MESSAGE_FILE.test(name))
      .sort()
      .reverse();
  }

  return {
    url: `smtp://127.0.0.1:${port}`,
    async list() {
      const messages = await Promise.all((await messageFiles()).map(read));
      return messages.map(({ id, receivedAt, from, to, subject }) => ({ id, receivedAt, from, to, subject }));
    },
    async get(id) {
      const name = (await messageFiles()).find((file) => MESSAGE_FILE.exec(file)?.[2] === id);
      return name ? read(name) : undefined;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
