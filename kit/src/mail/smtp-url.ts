/**
 * Whether `url` is an SMTP server's URL as nodemailer takes it: smtp:// or smtps:// with a
 * host. Callers word their own refusal and never quote the URL: it may carry a password.
 */
export function isSmtpUrl(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  return (parsed.protocol === 'smtp:' || parsed.protocol === 'smtps:') && parsed.hostname !== '';
}

/** The port an SMTP URL connects to: its own, else nodemailer's for the scheme (465 for smtps, 587 for smtp). */
export function smtpPort(url: string): number {
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : parsed.protocol === 'smtps:' ? 465 : 587;
}
