import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { railEscrows } from '../settings/rails.ts';
import { paymentRails } from '../settings/schema.ts';
import { type OrderStatus, orderStatuses } from './schema.ts';
import {
  nextOrderStatus,
  orderActions,
  orderTransitionTable,
  requireTransition,
  terminalStatuses,
} from './state-machine.ts';

/** Every edge the design allows, written out independently of the table. */
const allowedEdges = new Set([
  'draft>pending_payment',
  'pending_payment>paid_direct',
  'pending_payment>escrow_funded',
  'pending_payment>expired',
  'draft>cancelled',
  'pending_payment>cancelled',
  'paid_direct>cancelled',
  'escrow_funded>cancelled',
  'fulfillment>cancelled',
  'paid_direct>fulfillment',
  'escrow_funded>fulfillment',
  'fulfillment>delivered',
  'delivered>completed',
  'escrow_funded>disputed',
  'fulfillment>disputed',
  'delivered>disputed',
  'disputed>completed',
  'disputed>cancelled',
  'delivered>cancelled',
]);

describe('order state machine', () => {
  it('only names known statuses', () => {
    for (const transition of Object.values(orderTransitionTable)) {
      expect(orderStatuses).toContain(transition.to);
      for (const from of transition.from) expect(orderStatuses).toContain(from);
    }
  });

  it('terminal statuses accept no action', () => {
    for (const status of terminalStatuses) {
      for (const rail of paymentRails) {
        for (const action of orderActions) expect(nextOrderStatus(status, action, rail)).toBeNull();
      }
    }
  });

  it('escrow orders cannot pay_direct and direct orders cannot fund_escrow or be disputed', () => {
    expect(nextOrderStatus('pending_payment', 'pay_direct', 'amn_escrow')).toBeNull();
    expect(nextOrderStatus('pending_payment', 'fund_escrow', 'amn_direct')).toBeNull();
    expect(nextOrderStatus('pending_payment', 'fund_escrow', 'manual_invoice')).toBeNull();
    expect(nextOrderStatus('delivered', 'open_dispute', 'amn_direct')).toBeNull();
  });

  it('an illegal transition is a 409 naming the current status', () => {
    expect(() => requireTransition('completed', 'cancel', 'amn_escrow')).toThrow(
      expect.objectContaining({
        status: 409,
        extensions: expect.objectContaining({ current_status: 'completed' }),
      }),
    );
  });

  it('random action sequences never leave the allowed graph (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...paymentRails),
        fc.array(fc.constantFrom(...orderActions), { maxLength: 40 }),
        (rail, actions) => {
          let status: OrderStatus = 'draft';
          const visited: OrderStatus[] = [status];
          for (const action of actions) {
            const next = nextOrderStatus(status, action, rail);
            if (next === null) {
              expect(() => requireTransition(status, action, rail)).toThrow();
              continue;
            }
            expect(allowedEdges.has(`${status}>${next}`)).toBe(true);
            expect(terminalStatuses).not.toContain(status);
            status = next;
            visited.push(status);
          }
          if (railEscrows[rail]) {
            expect(visited).not.toContain('paid_direct');
          } else {
            expect(visited).not.toContain('escrow_funded');
            expect(visited).not.toContain('disputed');
          }
          // Paid states are reached only through pending_payment.
          const firstPaid = visited.findIndex((s) => s === 'paid_direct' || s === 'escrow_funded');
          if (firstPaid >= 0) expect(visited[firstPaid - 1]).toBe('pending_payment');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
