import { problem } from '@amanat/kit/http/problem';

/** Hostnames and paths the platform keeps for itself; a shop slug may not take them. */
export const reservedSlugs = new Set([
  'admin',
  'administrator',
  'api',
  'app',
  'apps',
  'assets',
  'auth',
  'billing',
  'blog',
  'cdn',
  'console',
  'control',
  'control-plane',
  'dashboard',
  'data-plane',
  'dev',
  'docs',
  'help',
  'internal',
  'kube-system',
  'localhost',
  'login',
  'mail',
  'metrics',
  'ns',
  'operator',
  'platform',
  'root',
  'router',
  'shop',
  'shops',
  'signup',
  'smtp',
  'sso',
  'staff',
  'static',
  'status',
  'support',
  'system',
  'test',
  'www',
  'amanat',
  'amn',
]);

export const SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$';

export function slugProblem(slug: string): string | null {
  if (reservedSlugs.has(slug)) return `"${slug}" is reserved`;
  // "xx--" is how IDNA marks encoded labels (xn--); refusing it keeps slugs unambiguous.
  if (slug.slice(2, 4) === '--') return 'may not have "--" in the third and fourth characters';
  return null;
}

const timeZones = new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);
const currencies = new Set(Intl.supportedValuesOf('currency'));

/** Checks the parts of a tenant's settings that a JSON schema cannot: reserved words and real codes. */
export function assertValidTenantSettings(input: {
  slug?: string;
  locale?: string;
  timezone?: string;
  currency?: string;
}): void {
  const errors: { field: string; message: string }[] = [];
  if (input.slug !== undefined) {
    const reason = slugProblem(input.slug);
    if (reason) errors.push({ field: 'body.slug', message: reason });
  }
  if (input.locale !== undefined) {
    try {
      const [canonical] = Intl.getCanonicalLocales(input.locale);
      if (canonical !== input.locale)
        errors.push({ field: 'body.locale', message: `write it as "${canonical}"` });
    } catch {
      errors.push({ field: 'body.locale', message: 'is not a BCP 47 language tag' });
    }
  }
  if (input.timezone !== undefined && !timeZones.has(input.timezone)) {
    errors.push({ field: 'body.timezone', message: 'is not an IANA time zone' });
  }
  if (input.currency !== undefined && !currencies.has(input.currency)) {
    errors.push({ field: 'body.currency', message: 'is not an ISO 4217 currency code' });
  }
  if (errors.length > 0)
    throw problem.validation(errors.map((e) => `${e.field} ${e.message}`).join('; '), errors);
}
