import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ServiceContext } from '../context.ts';
import { isSignedUnsubscribeLink, unsubscribePath, unsubscribeUrl } from './unsubscribe.ts';

/** Signing needs only the secret, the tenant and the canonical host: no database here. */
const SECRET = 'unit-delivery-link-secret-0123456789abcdef';
const shop = (tenantId: string = randomUUID(), secret = SECRET) =>
  ({
    tenantId,
    config: { DELIVERY_LINK_SECRET: secret, publicOrigin: 'https://shop.example.com' },
  }) as unknown as ServiceContext;

const sigOf = (path: string) => new URL(path, 'https://x.invalid').searchParams.get('sig') as string;

describe('signed unsubscribe links', () => {
  it('build an absolute https link on the canonical host that verifies for its buyer', () => {
    const ctx = shop();
    const buyerId = randomUUID();
    const url = new URL(unsubscribeUrl(ctx, buyerId));
    expect(url.origin).toBe('https://shop.example.com');
    expect(url.pathname).toBe('/unsubscribe');
    expect(url.searchParams.get('b')).toBe(buyerId);
    expect(url.searchParams.get('sig')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(`${url.pathname}${url.search}`).toBe(unsubscribePath(ctx, buyerId));
    expect(isSignedUnsubscribeLink(ctx, buyerId, url.searchParams.get('sig') as string)).toBe(true);
  });

  it('do not verify for another buyer, another shop, another secret, or a changed signature', () => {
    const ctx = shop();
    const buyerId = randomUUID();
    const sig = sigOf(unsubscribePath(ctx, buyerId));
    expect(isSignedUnsubscribeLink(ctx, randomUUID(), sig)).toBe(false);
    expect(isSignedUnsubscribeLink(shop(), buyerId, sig)).toBe(false);
    expect(isSignedUnsubscribeLink(shop(ctx.tenantId, `${SECRET}-rotated`), buyerId, sig)).toBe(false);
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    expect(isSignedUnsubscribeLink(ctx, buyerId, flipped)).toBe(false);
    expect(isSignedUnsubscribeLink(ctx, buyerId, sig.slice(0, -1))).toBe(false);
    expect(isSignedUnsubscribeLink(ctx, buyerId, '')).toBe(false);
    // The same buyer id in upper case is not what was signed.
    expect(isSignedUnsubscribeLink(ctx, buyerId.toUpperCase(), sig)).toBe(false);
  });

  it('are separated from download links: a signature over the same ids for another purpose fails', () => {
    const ctx = shop();
    const id = randomUUID();
    for (const message of [`download.${ctx.tenantId}.${id}`, `${ctx.tenantId}.${id}`, `unsubscribe.${id}`]) {
      const other = createHmac('sha256', SECRET).update(message).digest('base64url');
      expect(isSignedUnsubscribeLink(ctx, id, other)).toBe(false);
    }
    const own = createHmac('sha256', SECRET).update(`unsubscribe.${ctx.tenantId}.${id}`).digest('base64url');
    expect(isSignedUnsubscribeLink(ctx, id, own)).toBe(true);
  });

  it('accept only a buyer id shaped like one, so nothing else reaches the database', () => {
    const ctx = shop();
    const notAnId = "x' OR 1=1 --";
    const sig = createHmac('sha256', SECRET)
      .update(`unsubscribe.${ctx.tenantId}.${notAnId}`)
      .digest('base64url');
    expect(isSignedUnsubscribeLink(ctx, notAnId, sig)).toBe(false);
  });
});
