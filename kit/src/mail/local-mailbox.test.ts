import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { startLocalMailbox } from './local-mailbox.ts';

describe('the local mailbox', () => {
  it('keeps what is sent to it over SMTP, parsed, newest first, and still has it after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'amanat-mailbox-'));
    const mailbox = await startLocalMailbox({ dir });
    expect(mailbox.url).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
    const transport = createTransport(mailbox.url);
    await transport.sendMail({
      from: '"Tea House" <orders@tea.example>',
      to: 'buyer@example.com',
      subject: 'First',
      text: 'plain words',
      html: '<p>rich words</p>',
    });
    await transport.sendMail({
      from: 'orders@tea.example',
      to: ['a@example.com', 'b@example.com'],
      subject: 'Second — سفارش',
      text: 'متن',
    });

    const listed = await mailbox.list();
    expect(listed.map((mail) => mail.subject)).toEqual(['Second — سفارش', 'First']);
    expect(listed[1]).toMatchObject({ from: '"Tea House" <orders@tea.example>', to: ['buyer@example.com'] });
    const first = await mailbox.get(listed[1]?.id ?? '');
    expect(first).toMatchObject({ text: 'plain words', html: '<p>rich words</p>' });
    expect(first?.messageId).toMatch(/^<.+@.+>$/);
    expect(first?.raw).toContain('Subject: First');
    expect((await mailbox.get(listed[0]?.id ?? ''))?.to).toEqual(['a@example.com', 'b@example.com']);
    expect(await mailbox.get('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    await mailbox.stop();

    const reopened = await startLocalMailbox({ dir });
    expect((await reopened.list()).map((mail) => mail.id)).toEqual(listed.map((mail) => mail.id));
    await reopened.stop();
  });

  it('refuses a message over its size limit and keeps nothing of it', async () => {
    const mailbox = await startLocalMailbox({
      dir: await mkdtemp(join(tmpdir(), 'amanat-mailbox-')),
      sizeLimit: 2048,
    });
    const transport = createTransport(mailbox.url);
    await expect(
      transport.sendMail({
        from: 'a@example.com',
        to: 'b@example.com',
        subject: 'big',
        text: 'x'.repeat(10_000),
      }),
    ).rejects.toThrow(/552|size/i);
    expect(await mailbox.list()).toEqual([]);
    await mailbox.stop();
  });
});
