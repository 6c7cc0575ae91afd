import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDataPlane, type TestDataPlane } from '../testing/harness.ts';
import { type Permission, permissions, roleMay, tenantRoles } from './permissions.ts';

/**
 * Every shop admin route, against every kind of staff token: the guard runs before
 * validation, so even an empty request shows who may pass. Driven by the app's own route
 * table and the permission table, so a new admin route without a guard fails here.
 */
let dp: TestDataPlane;
beforeAll(async () => {
  dp = await startTestDataPlane();
});
afterAll(() => dp.close());

function adminRoutes() {
  return dp.app.routeTable
    .filter((route) => route.url.startsWith('/api/admin') && route.method !== 'HEAD')
    .map((route) => {
      const tagged = route.preValidation.filter(
        (guard): guard is { permission: Permission } => typeof guard === 'function' && 'permission' in guard,
      );
      return { ...route, permissions: tagged.map((guard) => guard.permission) };
    });
}

const withIds = (url: string) => url.replaceAll(/:[A-Za-z]+/g, randomUUID());

describe('shop admin API authorization', () => {
  it('every admin route has exactly one staff permission guard', () => {
    const routes = adminRoutes();
    expect(routes.length).toBeGreaterThan(25);
    for (const route of routes) expect(route.permissions, `${route.method} ${route.url}`).toHaveLength(1);
    for (const route of routes) expect(Object.keys(permissions)).toContain(route.permissions[0]);
  });

  it('refuses missing, foreign, expired and unsigned tokens with 401 on every admin route', async () => {
    const foreign = await dp.staffToken('owner', { audience: `tenant:${randomUUID()}` });
    const expired = await dp.staffToken('owner', {
      expiresIn: '-1m',
      issuedAt: Math.floor(Date.now() / 1000) - 600,
    });
    const [header, payload] = (await dp.staffToken('owner')).split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    for (const route of adminRoutes()) {
      for (const authorization of [undefined, foreign, expired, unsigned, forged]) {
        const response = await dp.app.inject({
          method: route.method as 'GET',
          url: withIds(route.url),
          headers: authorization ? { authorization: `Bearer ${authorization}` } : {},
        });
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(401);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
  });

  it('lets each role through exactly where the permission table says', async () => {
    for (const role of tenantRoles) {
      const headers = await dp.staffHeaders(role);
      for (const route of adminRoutes()) {
        const permission = route.permissions[0] as Permission;
        const response = await dp.app.inject({
          method: route.method as 'GET',
          url: withIds(route.url),
          headers,
        });
        const label = `${role} ${route.method} ${route.url} (${permission})`;
        if (roleMay(role, permission)) expect([401, 403], label).not.toContain(response.statusCode);
        else expect(response.statusCode, label).toBe(403);
      }
    }
  });
});
