import { problem } from '@amanat/kit/http/problem';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createLocalJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Actor } from '../audit/record.ts';
import type { DataPlaneConfig } from '../config.ts';
import { type Permission, roleMay, type TenantRole, tenantRoles } from './permissions.ts';

/** The issuer and audience the control plane writes into staff tokens. */
export const STAFF_TOKEN_ISSUER = 'amanat-control-plane';
export const staffAudience = (tenantId: string) => `tenant:${tenantId}`;
/** Tokens older than this are refused even if their exp says otherwise. */
const MAX_TOKEN_AGE = '15m';

export interface StaffIdentity {
  userId: string;
  role: TenantRole;
}

declare module 'fastify' {
  interface FastifyRequest {
    staff: StaffIdentity | null;
  }
}

export function staffTokenVerifier(config: DataPlaneConfig) {
  const keys: JWTVerifyGetKey = createLocalJWKSet(config.jwks as Parameters<typeof createLocalJWKSet>[0]);
  return async (token: string): Promise<StaffIdentity> => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: STAFF_TOKEN_ISSUER,
        audience: staffAudience(config.TENANT_ID),
        algorithms: ['EdDSA'],
        maxTokenAge: MAX_TOKEN_AGE,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      const role = payload.role;
      if (typeof payload.sub !== 'string' || !tenantRoles.includes(role as TenantRole)) {
        throw problem.unauthorized('The staff token names no valid user and tenant role.');
      }
      return { userId: payload.sub, role: role as TenantRole };
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        throw problem.unauthorized('The staff token has expired; get a new one.');
      if (error instanceof errors.JOSEError)
        throw problem.unauthorized('The staff token is not valid for this shop.');
      throw error;
    }
  };
}

/**
 * Guard for the shop admin API: a control-plane token for this tenant whose role holds the
 * permission. Missing or invalid token → 401; valid but the role lacks it → 403. Routes run
 * it as preValidation, so a caller without the right learns nothing about the input rules.
 */
export function requirePermission(verify: (token: string) => Promise<StaffIdentity>, permission: Permission) {
  const guard = async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer '))
      throw problem.unauthorized('Send a staff token: Authorization: Bearer <token>.');
    const staff = await verify(header.slice('Bearer '.length).trim());
    if (!roleMay(staff.role, permission)) {
      throw problem.forbidden('tenant-role', `Your role ${staff.role} lacks the permission ${permission}.`);
    }
    request.staff = staff;
  };
  // Tagged so the route table can show, and a test can check, which permission guards a route.
  return Object.assign(guard, { permission });
}

export function staffActor(request: FastifyRequest): Actor {
  if (!request.staff) throw new Error('route is missing the requirePermission guard');
  return { type: 'staff', id: request.staff.userId, role: request.staff.role, requestId: request.id };
}
