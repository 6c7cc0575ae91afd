import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../audit/schema.ts';
import { tenants } from '../tenants/schema.ts';
import { type SignedIn, startTestControlPlane, type TestControlPlane } from '../testing/harness.ts';
import { tenantMembers } from './schema.ts';
import { MAX_MANAGERS, MAX_STAFF } from './service.ts';

let cp: TestControlPlane;
let admin: SignedIn;

beforeAll(async () => {
  cp = await startTestControlPlane();
  admin = await cp.admin();
});
afterAll(() => cp?.close());

type Response = Awaited<ReturnType<TestControlPlane['app']['inject']>>;

function expectProblem(response: Response, status: number, type: string) {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.json()).toMatchObject({
    status,
    type,
    title: expect.any(String),
    detail: expect.any(String),
  });
}

/** A fresh active tenant and its owner. */
async function shop() {
  const owner = await cp.register('owner');
  const tenant = await cp.activeTenant(owner, admin);
  return { owner, tenantId: tenant.id };
}

const accounts = (n: number, prefix = 'member') =>
  Promise.all(Array.from({ length: n }, () => cp.register(prefix)));

const grant = (tenantId: string, as: SignedIn, member: SignedIn, role: string) =>
  cp.app.inject({
    method: 'POST',
    url: `/tenants/${tenantId}/members`,
    headers: as.headers,
    payload: { email: member.email, role },
  });

const change = (tenantId: string, as: SignedIn, member: SignedIn, role: string) =>
  cp.app.inject({
    method: 'PATCH',
    url: `/tenants/${tenantId}/members/${member.id}`,
    headers: as.headers,
    payload: { role },
  });

const revoke = (tenantId: string, as: SignedIn, member: SignedIn) =>
  cp.app.inject({ method: 'DELETE', url: `/tenants/${tenantId}/members/${member.id}`, headers: as.headers });

const transfer = (tenantId: string, as: SignedIn, to: SignedIn) =>
  cp.app.inject({
    method: 'POST',
    url: `/tenants/${tenantId}/ownership`,
    headers: as.headers,
    payload: { user_id: to.id },
  });

/** The roster as the database holds it: user id → role. */
async function roster(tenantId: string): Promise<Record<string, string>> {
  const rows = await cp.db
    .select()
    .from(tenantMembers)
    .where(eq(tenantMembers.tenantId, tenantId))
    .orderBy(asc(tenantMembers.userId));
  return Object.fromEntries(rows.map((row) => [row.userId, row.role]));
}

const countRole = (members: Record<string, string>, ...roles: string[]) =>
  Object.values(members).filter((role) => roles.includes(role)).length;

async function ownerIdOf(tenantId: string) {
  const [row] = await cp.db
    .select({ ownerId: tenants.ownerId })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  return row?.ownerId;
}

async function auditActions(tenantId: string) {
  const rows = await cp.db
    .select()
    .from(auditLog)
    .where(eq(auditLog.tenantId, tenantId))
    .orderBy(asc(auditLog.id));
  return rows;
}

/** Everything a refused request must leave alone. */
async function snapshot(tenantId: string) {
  return { roster: await roster(tenantId), ownerId: await ownerIdOf(tenantId), audit: await cp.auditCount() };
}

describe('one owner', () => {
  it('a tenant starts with exactly one owner, and the API grants no second one', async () => {
    const { owner, tenantId } = await shop();
    const [member] = await accounts(1);
    const who = member as SignedIn;
    expect(await roster(tenantId)).toEqual({ [owner.id]: 'owner' });

    const before = await snapshot(tenantId);
    const asOwner = await grant(tenantId, owner, who, 'owner');
    expectProblem(asOwner, 400, '/problems/validation');
    expect(asOwner.json().errors.map((e: { field: string }) => e.field)).toContain('body.role');
    expect(await snapshot(tenantId)).toEqual(before);

    expect((await grant(tenantId, owner, who, 'finance')).statusCode).toBe(201);
    const promoted = await change(tenantId, owner, who, 'owner');
    expectProblem(promoted, 400, '/problems/validation');
    expect(countRole(await roster(tenantId), 'owner')).toBe(1);
  });

  it('the partial unique index refuses a second owner at the database level', async () => {
    const { tenantId } = await shop();
    const [member] = await accounts(1);
    const insert = cp.pool.query(
      `INSERT INTO tenant_members (tenant_id, user_id, role) VALUES ($1, $2, 'owner')`,
      [tenantId, member?.id],
    );
    await expect(insert).rejects.toMatchObject({ code: '23505', constraint: 'tenant_members_one_owner' });

    await cp.pool.query(`INSERT INTO tenant_members (tenant_id, user_id, role) VALUES ($1, $2, 'manager')`, [
      tenantId,
      member?.id,
    ]);
    const promote = cp.pool.query(
      `UPDATE tenant_members SET role = 'owner' WHERE tenant_id = $1 AND user_id = $2`,
      [tenantId, member?.id],
    );
    await expect(promote).rejects.toMatchObject({ code: '23505', constraint: 'tenant_members_one_owner' });
    expect(countRole(await roster(tenantId), 'owner')).toBe(1);
  });

  it('the owner cannot revoke or change their own owner role, and no one else can either', async () => {
    const { owner, tenantId } = await shop();
    const [manager] = (await accounts(1)) as [SignedIn];
    await cp.grant(tenantId, owner, manager, 'manager');
    const before = await snapshot(tenantId);

    const own = await revoke(tenantId, owner, owner);
    expectProblem(own, 409, '/problems/owner-protected');
    expect(own.json().detail).toMatch(/transfer/);
    expectProblem(await change(tenantId, owner, owner, 'manager'), 409, '/problems/owner-protected');
    expectProblem(await revoke(tenantId, manager, owner), 409, '/problems/owner-protected');
    expectProblem(await change(tenantId, manager, owner, 'finance'), 409, '/problems/owner-protected');

    expect(await snapshot(tenantId)).toEqual(before);
  });
});

describe('role limits', () => {
  it(`at most ${MAX_MANAGERS} managers: the next one is 409 role-limit and nothing is written`, async () => {
    const { owner, tenantId } = await shop();
    const people = await accounts(MAX_MANAGERS + 1);
    for (const person of people.slice(0, MAX_MANAGERS)) await cp.grant(tenantId, owner, person, 'manager');
    const extra = people[MAX_MANAGERS] as SignedIn;

    const before = await snapshot(tenantId);
    const refused = await grant(tenantId, owner, extra, 'manager');
    expectProblem(refused, 409, '/problems/role-limit');
    expect(refused.json().detail).toContain(String(MAX_MANAGERS));
    expect(await snapshot(tenantId)).toEqual(before);

    // Promoting a staff member to a sixth manager is refused the same way.
    expect((await grant(tenantId, owner, extra, 'support')).statusCode).toBe(201);
    const beforeChange = await snapshot(tenantId);
    expectProblem(await change(tenantId, owner, extra, 'manager'), 409, '/problems/role-limit');
    expect(await snapshot(tenantId)).toEqual(beforeChange);
    expect(countRole(await roster(tenantId), 'manager')).toBe(MAX_MANAGERS);

    // Freeing a seat lets the promotion through.
    expect((await revoke(tenantId, owner, people[0] as SignedIn)).statusCode).toBe(204);
    expect((await change(tenantId, owner, extra, 'manager')).statusCode).toBe(200);
    expect(countRole(await roster(tenantId), 'manager')).toBe(MAX_MANAGERS);
  });

  it(`at most ${MAX_STAFF} finance, support and developer members together`, async () => {
    const { owner, tenantId } = await shop();
    const people = await accounts(MAX_STAFF + 3);
    const roles = ['finance', 'support', 'developer'];
    for (const [i, person] of people.slice(0, MAX_STAFF).entries()) {
      await cp.grant(tenantId, owner, person, roles[i % roles.length] as string);
    }
    expect(countRole(await roster(tenantId), 'finance', 'support', 'developer')).toBe(MAX_STAFF);
    const [eleventh, manager] = people.slice(MAX_STAFF) as [SignedIn, SignedIn];

    const before = await snapshot(tenantId);
    for (const role of roles) {
      const refused = await grant(tenantId, owner, eleventh, role);
      expectProblem(refused, 409, '/problems/role-limit');
    }
    expect(await snapshot(tenantId)).toEqual(before);

    // Managers are counted separately; a manager turned staff would be an eleventh.
    expect((await grant(tenantId, owner, manager, 'manager')).statusCode).toBe(201);
    const beforeChange = await snapshot(tenantId);
    expectProblem(await change(tenantId, owner, manager, 'developer'), 409, '/problems/role-limit');
    expect(await snapshot(tenantId)).toEqual(beforeChange);

    // Moving between staff roles does not change the count.
    expect((await change(tenantId, owner, people[0] as SignedIn, 'developer')).statusCode).toBe(200);
    // A freed seat can be taken.
    expect((await revoke(tenantId, owner, people[1] as SignedIn)).statusCode).toBe(204);
    expect((await grant(tenantId, owner, eleventh, 'finance')).statusCode).toBe(201);
    expect(countRole(await roster(tenantId), 'finance', 'support', 'developer')).toBe(MAX_STAFF);
  });

  it(`concurrent grants never exceed the limits: 8 managers at once → exactly ${MAX_MANAGERS}`, async () => {
    const { owner, tenantId } = await shop();
    const people = await accounts(8);
    const responses = await Promise.all(people.map((person) => grant(tenantId, owner, person, 'manager')));
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_MANAGERS);
    expect(statuses.filter((s) => s === 409)).toHaveLength(8 - MAX_MANAGERS);
    for (const refused of responses.filter((r) => r.statusCode === 409)) {
      expect(refused.json().type).toBe('/problems/role-limit');
    }
    expect(countRole(await roster(tenantId), 'manager')).toBe(MAX_MANAGERS);
    const granted = (await auditActions(tenantId)).filter((e) => e.action === 'tenant_role.granted');
    expect(granted).toHaveLength(MAX_MANAGERS);
  });

  it(`concurrent staff grants never exceed ${MAX_STAFF}`, async () => {
    const { owner, tenantId } = await shop();
    const people = await accounts(MAX_STAFF + 4);
    const roles = ['finance', 'support', 'developer'];
    const responses = await Promise.all(
      people.map((person, i) => grant(tenantId, owner, person, roles[i % roles.length] as string)),
    );
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(MAX_STAFF);
    expect(responses.filter((r) => r.statusCode === 409)).toHaveLength(4);
    expect(countRole(await roster(tenantId), 'finance', 'support', 'developer')).toBe(MAX_STAFF);
  });
});

describe('who manages whom', () => {
  it('a manager grants, changes and revokes staff roles, but not managers', async () => {
    const { owner, tenantId } = await shop();
    type Five = [SignedIn, SignedIn, SignedIn, SignedIn, SignedIn];
    const [manager, otherManager, a, b, c] = (await accounts(5)) as Five;
    await cp.grant(tenantId, owner, manager, 'manager');
    await cp.grant(tenantId, owner, otherManager, 'manager');

    const before = await snapshot(tenantId);
    const asManager = await grant(tenantId, manager, a, 'manager');
    expectProblem(asManager, 403, '/problems/tenant-role');
    expect(await snapshot(tenantId)).toEqual(before);

    for (const [person, role] of [
      [a, 'finance'],
      [b, 'support'],
      [c, 'developer'],
    ] as const) {
      const granted = await grant(tenantId, manager, person, role);
      expect(granted.statusCode, granted.body).toBe(201);
      expect(granted.json()).toMatchObject({
        user_id: person.id,
        role,
        granted_by: manager.id,
        email: person.email,
      });
    }
    expect((await change(tenantId, manager, a, 'support')).statusCode).toBe(200);

    const beforeRefusals = await snapshot(tenantId);
    expectProblem(await change(tenantId, manager, a, 'manager'), 403, '/problems/tenant-role');
    expectProblem(await change(tenantId, manager, otherManager, 'finance'), 403, '/problems/tenant-role');
    expectProblem(await revoke(tenantId, manager, otherManager), 403, '/problems/tenant-role');
    expectProblem(await transfer(tenantId, manager, manager), 403, '/problems/tenant-role');
    expect(await snapshot(tenantId)).toEqual(beforeRefusals);

    expect((await revoke(tenantId, manager, c)).statusCode).toBe(204);
    expect(await roster(tenantId)).toEqual({
      [owner.id]: 'owner',
      [manager.id]: 'manager',
      [otherManager.id]: 'manager',
      [a.id]: 'support',
      [b.id]: 'support',
    });
  });

  it('staff roles cannot manage roles at all', async () => {
    const { owner, tenantId } = await shop();
    const [finance, other] = (await accounts(2)) as [SignedIn, SignedIn];
    await cp.grant(tenantId, owner, finance, 'finance');
    const before = await snapshot(tenantId);
    expectProblem(await grant(tenantId, finance, other, 'support'), 403, '/problems/tenant-role');
    expectProblem(await revoke(tenantId, finance, finance), 403, '/problems/tenant-role');
    expect(await snapshot(tenantId)).toEqual(before);
  });

  it('the owner changes a role: stored, returned and audited', async () => {
    const { owner, tenantId } = await shop();
    const [member] = (await accounts(1)) as [SignedIn];
    await cp.grant(tenantId, owner, member, 'finance');
    const changed = await change(tenantId, owner, member, 'developer');
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ user_id: member.id, role: 'developer' });
    expect((await roster(tenantId))[member.id]).toBe('developer');
    const entry = (await auditActions(tenantId)).at(-1);
    expect(entry).toMatchObject({
      action: 'tenant_role.changed',
      actorId: owner.id,
      targetId: member.id,
      before: { role: 'finance' },
      after: { role: 'developer' },
    });
  });

  it('the owner revokes a role: the member loses access, and it is audited', async () => {
    const { owner, tenantId } = await shop();
    const [member] = (await accounts(1)) as [SignedIn];
    await cp.grant(tenantId, owner, member, 'support');
    const read = () => cp.app.inject({ method: 'GET', url: `/tenants/${tenantId}`, headers: member.headers });
    expect((await read()).statusCode).toBe(200);
    expect((await revoke(tenantId, owner, member)).statusCode).toBe(204);
    expect(await roster(tenantId)).toEqual({ [owner.id]: 'owner' });
    expect((await read()).statusCode).toBe(404);
    expect((await auditActions(tenantId)).at(-1)).toMatchObject({
      action: 'tenant_role.revoked',
      targetId: member.id,
      before: { role: 'support' },
    });
    expectProblem(await revoke(tenantId, owner, member), 404, '/problems/not-found');
  });

  it('grants refuse existing members, unknown accounts and closed tenants', async () => {
    const { owner, tenantId } = await shop();
    const [member, late] = (await accounts(2)) as [SignedIn, SignedIn];
    await cp.grant(tenantId, owner, member, 'finance');
    const before = await snapshot(tenantId);
    expectProblem(await grant(tenantId, owner, member, 'support'), 409, '/problems/already-member');
    expectProblem(await grant(tenantId, owner, owner, 'manager'), 409, '/problems/already-member');
    const unknown = await cp.app.inject({
      method: 'POST',
      url: `/tenants/${tenantId}/members`,
      headers: owner.headers,
      payload: { email: 'no-such-account@example.com', role: 'finance' },
    });
    expectProblem(unknown, 404, '/problems/not-found');
    expect(await snapshot(tenantId)).toEqual(before);

    const closed = await cp.app.inject({
      method: 'POST',
      url: `/admin/tenants/${tenantId}/close`,
      headers: admin.headers,
    });
    expect(closed.statusCode).toBe(200);
    const beforeClosed = await snapshot(tenantId);
    expectProblem(await grant(tenantId, owner, late, 'finance'), 409, '/problems/tenant-closed');
    expectProblem(await change(tenantId, owner, member, 'support'), 409, '/problems/tenant-closed');
    expectProblem(await revoke(tenantId, owner, member), 409, '/problems/tenant-closed');
    expect(await snapshot(tenantId)).toEqual(beforeClosed);
  });
});

describe('ownership transfer', () => {
  it('the old owner becomes a manager and tenant.owner_id follows the new owner', async () => {
    const { owner, tenantId } = await shop();
    const [next, staff] = (await accounts(2)) as [SignedIn, SignedIn];
    await cp.grant(tenantId, owner, next, 'finance');
    await cp.grant(tenantId, owner, staff, 'support');

    const response = await transfer(tenantId, owner, next);
    expect(response.statusCode, response.body).toBe(200);
    const roles = Object.fromEntries(
      response.json().items.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
    );
    const expected = { [next.id]: 'owner', [owner.id]: 'manager', [staff.id]: 'support' };
    expect(roles).toEqual(expected);
    expect(await roster(tenantId)).toEqual(expected);
    expect(await ownerIdOf(tenantId)).toBe(next.id);
    const read = await cp.app.inject({ method: 'GET', url: `/tenants/${tenantId}`, headers: next.headers });
    expect(read.json().owner_id).toBe(next.id);
    expect((await auditActions(tenantId)).at(-1)).toMatchObject({
      action: 'tenant.ownership_transferred',
      actorId: owner.id,
      before: { owner_id: owner.id },
      after: { owner_id: next.id },
    });

    // The old owner is now a manager: no more owner powers.
    const before = await snapshot(tenantId);
    expectProblem(await transfer(tenantId, owner, owner), 403, '/problems/tenant-role');
    expectProblem(await change(tenantId, owner, staff, 'manager'), 403, '/problems/tenant-role');
    expectProblem(await revoke(tenantId, owner, next), 409, '/problems/owner-protected');
    expect(await snapshot(tenantId)).toEqual(before);
    // The new owner has them, including over the old owner.
    expect((await revoke(tenantId, next, owner)).statusCode).toBe(204);
    expect(await roster(tenantId)).toEqual({ [next.id]: 'owner', [staff.id]: 'support' });
  });

  it('transfers only to another existing member', async () => {
    const { owner, tenantId } = await shop();
    const [outsider] = (await accounts(1)) as [SignedIn];
    const before = await snapshot(tenantId);
    expectProblem(await transfer(tenantId, owner, outsider), 404, '/problems/not-found');
    expectProblem(await transfer(tenantId, owner, owner), 409, '/problems/already-owner');
    expect(await snapshot(tenantId)).toEqual(before);
  });

  it('is refused when the old owner would be a manager too many', async () => {
    const { owner, tenantId } = await shop();
    const managers = await accounts(MAX_MANAGERS);
    for (const manager of managers) await cp.grant(tenantId, owner, manager, 'manager');
    const [finance] = (await accounts(1)) as [SignedIn];
    await cp.grant(tenantId, owner, finance, 'finance');
    const before = await snapshot(tenantId);
    expectProblem(await transfer(tenantId, owner, finance), 409, '/problems/role-limit');
    expect(await snapshot(tenantId)).toEqual(before);
    // To a manager it works: one manager leaves the count as the old owner joins it.
    expect((await transfer(tenantId, owner, managers[0] as SignedIn)).statusCode).toBe(200);
    expect(countRole(await roster(tenantId), 'manager')).toBe(MAX_MANAGERS);
  });

  it('two concurrent transfers by the owner: one wins, and the loser changes nothing', async () => {
    const { owner, tenantId } = await shop();
    const [first, second] = (await accounts(2)) as [SignedIn, SignedIn];
    await cp.grant(tenantId, owner, first, 'finance');
    await cp.grant(tenantId, owner, second, 'developer');
    const responses = await Promise.all([
      transfer(tenantId, owner, first),
      transfer(tenantId, owner, second),
    ]);
    const won = responses.filter((r) => r.statusCode === 200);
    expect(won).toHaveLength(1);
    const lost = responses.find((r) => r.statusCode !== 200) as Response;
    expectProblem(lost, 403, '/problems/tenant-role');

    const winner = responses[0] === won[0] ? first : second;
    const loser = winner === first ? second : first;
    const members = await roster(tenantId);
    expect(members).toEqual({
      [winner.id]: 'owner',
      [owner.id]: 'manager',
      [loser.id]: winner === first ? 'developer' : 'finance',
    });
    expect(await ownerIdOf(tenantId)).toBe(winner.id);
    const transfers = (await auditActions(tenantId)).filter(
      (e) => e.action === 'tenant.ownership_transferred',
    );
    expect(transfers).toHaveLength(1);
  });

  it('the database never holds two owners, whatever happens concurrently', async () => {
    const { owner, tenantId } = await shop();
    const people = await accounts(4);
    for (const person of people) await cp.grant(tenantId, owner, person, 'finance');
    await Promise.all(people.map((person) => transfer(tenantId, owner, person)));
    const members = await roster(tenantId);
    expect(countRole(members, 'owner')).toBe(1);
    const ownerId = await ownerIdOf(tenantId);
    expect(members[ownerId as string]).toBe('owner');
    const [row] = await cp.db
      .select()
      .from(tenantMembers)
      .where(and(eq(tenantMembers.tenantId, tenantId), eq(tenantMembers.role, 'owner')));
    expect(row?.userId).toBe(ownerId);
  });
});
