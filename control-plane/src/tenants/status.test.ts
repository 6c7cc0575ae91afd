import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TenantStatus, tenantStatuses } from './schema.ts';
import { nextTenantStatus, type TenantAction, tenantActions, tenantTransitions } from './status.ts';

/**
 * The lifecycle as the product defines it, written out independently of `tenantTransitions`:
 * a change to the machine must change this table too.
 */
const expected: Record<TenantStatus, Record<TenantAction, TenantStatus | null>> = {
  pending: { approve: 'active', suspend: null, reactivate: null, close: 'closed' },
  active: { approve: null, suspend: 'suspended', reactivate: null, close: 'closed' },
  suspended: { approve: null, suspend: null, reactivate: 'active', close: 'closed' },
  closed: { approve: null, suspend: null, reactivate: null, close: null },
};

const status = fc.constantFrom(...tenantStatuses);
const action = fc.constantFrom(...tenantActions);
const runs = fc.array(action, { maxLength: 40 });

/** Applies actions in order; an illegal one leaves the status as it was (the API answers 409). */
function run(start: TenantStatus, actions: TenantAction[]) {
  let current = start;
  const steps: { from: TenantStatus; action: TenantAction; to: TenantStatus | null }[] = [];
  for (const a of actions) {
    const to = nextTenantStatus(current, a);
    steps.push({ from: current, action: a, to });
    if (to) current = to;
  }
  return { final: current, steps };
}

describe('tenant status machine', () => {
  it('knows exactly the four actions and four statuses', () => {
    expect([...tenantActions].sort()).toEqual(['approve', 'close', 'reactivate', 'suspend']);
    expect([...tenantStatuses].sort()).toEqual(['active', 'closed', 'pending', 'suspended']);
  });

  it('matches the product lifecycle for every (status, action)', () => {
    fc.assert(
      fc.property(status, action, (from, a) => {
        expect(nextTenantStatus(from, a)).toBe(expected[from][a]);
      }),
    );
  });

  it('an action succeeds iff the current status is in its from list, and leads to its to status', () => {
    fc.assert(
      fc.property(status, runs, (start, actions) => {
        for (const step of run(start, actions).steps) {
          const transition = tenantTransitions[step.action];
          const allowed = (transition.from as readonly TenantStatus[]).includes(step.from);
          expect(step.to !== null).toBe(allowed);
          if (allowed) expect(step.to).toBe(transition.to);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('every result is a known status', () => {
    fc.assert(
      fc.property(status, runs, (start, actions) => {
        const { final, steps } = run(start, actions);
        expect(tenantStatuses).toContain(final);
        for (const step of steps) if (step.to !== null) expect(tenantStatuses).toContain(step.to);
      }),
      { numRuns: 500 },
    );
  });

  it('closed is terminal: once closed, every later action is refused', () => {
    fc.assert(
      fc.property(status, runs, runs, (start, before, after) => {
        const reached = run(start, [...before, 'close']).final;
        const afterwards = run(reached, after);
        expect(reached).toBe('closed');
        expect(afterwards.final).toBe('closed');
        for (const step of afterwards.steps) expect(step.to).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('close succeeds from any status but closed', () => {
    fc.assert(
      fc.property(status, (from) => {
        expect(nextTenantStatus(from, 'close')).toBe(from === 'closed' ? null : 'closed');
      }),
    );
  });

  it('suspend then reactivate returns an active tenant to active, however often', () => {
    fc.assert(
      fc.property(status, runs, fc.integer({ min: 1, max: 10 }), (start, actions, times) => {
        const { final } = run(start, actions);
        fc.pre(final === 'active');
        let current: TenantStatus | null = final;
        for (let i = 0; i < times; i++) {
          current = nextTenantStatus(current as TenantStatus, 'suspend');
          expect(current).toBe('suspended');
          current = nextTenantStatus(current as TenantStatus, 'reactivate');
          expect(current).toBe('active');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('nothing leads back to pending, and every status is reachable from pending', () => {
    const reachable = new Set<TenantStatus>(['pending']);
    for (let changed = true; changed; ) {
      changed = false;
      for (const from of [...reachable]) {
        for (const a of tenantActions) {
          const to = nextTenantStatus(from, a);
          if (to && !reachable.has(to)) {
            reachable.add(to);
            changed = true;
          }
        }
      }
    }
    expect([...reachable].sort()).toEqual([...tenantStatuses].sort());
    fc.assert(
      fc.property(status, action, (from, a) => {
        expect(nextTenantStatus(from, a)).not.toBe('pending');
      }),
    );
  });
});
