import { describe, expect, it } from 'vitest';
import { isSmtpUrl, smtpPort } from './smtp-url.ts';

describe('SMTP URLs', () => {
  it('are smtp:// or smtps:// with a host', () => {
    expect(isSmtpUrl('smtp://127.0.0.1:2525')).toBe(true);
    expect(isSmtpUrl('smtps://shop:p%40ss@mail.example')).toBe(true);
    expect(isSmtpUrl('https://mail.example')).toBe(false);
    expect(isSmtpUrl('smtp://')).toBe(false);
    expect(isSmtpUrl('mail.example:587')).toBe(false);
  });

  it('are reached on their own port, else the one nodemailer uses for the scheme', () => {
    expect(smtpPort('smtp://mail.example:2525')).toBe(2525);
    expect(smtpPort('smtp://user:pw@mail.example')).toBe(587);
    expect(smtpPort('smtps://mail.example')).toBe(465);
  });
});
