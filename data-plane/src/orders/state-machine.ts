import { problem } from '@amanat/kit/http/problem';
import { railEscrows } from '../settings/rails.ts';
import type { PaymentRail } from '../settings/schema.ts';
import type { OrderStatus } from './schema.ts';

/**
 * The order lifecycle, in one place: each action names the statuses it may start from, the
 * status it leads to, and — where it matters — which rails it applies to (`escrow`: only
 * amn_escrow orders; `direct`: only rails without an escrow hold). Nothing else changes an
 * order's status. `completed`, `expired` and `cancelled` are terminal.
 *
 *   draft ─submit→ pending_payment ─pay_direct→ paid_direct ─┐
 *                                  └fund_escrow→ escrow_funded ┴start_fulfillment→ fulfillment
 *   fulfillment ─mark_delivered→ delivered ─complete→ completed
 *   escrow_funded | fulfillment | delivered ─open_dispute→ disputed
 *   disputed ─resolve_release→ completed,  disputed ─resolve_refund→ cancelled
 */
export const orderTransitionTable = {
  submit: { from: ['draft'], to: 'pending_payment', rails: 'any' },
  pay_direct: { from: ['pending_payment'], to: 'paid_direct', rails: 'direct' },
  fund_escrow: { from: ['pending_payment'], to: 'escrow_funded', rails: 'escrow' },
  expire: { from: ['pending_payment'], to: 'expired', rails: 'any' },
  cancel: {
    from: ['draft', 'pending_payment', 'paid_direct', 'escrow_funded', 'fulfillment'],
    to: 'cancelled',
    rails: 'any',
  },
  start_fulfillment: { from: ['paid_direct', 'escrow_funded'], to: 'fulfillment', rails: 'any' },
  mark_delivered: { from: ['fulfillment'], to: 'delivered', rails: 'any' },
  complete: { from: ['delivered'], to: 'completed', rails: 'any' },
  open_dispute: { from: ['escrow_funded', 'fulfillment', 'delivered'], to: 'disputed', rails: 'escrow' },
  resolve_release: { from: ['disputed'], to: 'completed', rails: 'escrow' },
  resolve_refund: { from: ['disputed'], to: 'cancelled', rails: 'escrow' },
  refund: {
    from: ['paid_direct', 'escrow_funded', 'fulfillment', 'delivered'],
    to: 'cancelled',
    rails: 'any',
  },
} as const satisfies Record<
  string,
  { from: readonly OrderStatus[]; to: OrderStatus; rails: 'any' | 'escrow' | 'direct' }
>;

export type OrderAction = keyof typeof orderTransitionTable;
export const orderActions = Object.keys(orderTransitionTable) as OrderAction[];
export const terminalStatuses: readonly OrderStatus[] = ['completed', 'expired', 'cancelled'];

function railFits(rails: 'any' | 'escrow' | 'direct', rail: PaymentRail): boolean {
  if (rails === 'any') return true;
  return rails === 'escrow' ? railEscrows[rail] : !railEscrows[rail];
}

/** The status after `action`, or null when the action is illegal from `current` on this rail. */
export function nextOrderStatus(
  current: OrderStatus,
  action: OrderAction,
  rail: PaymentRail,
): OrderStatus | null {
  const transition = orderTransitionTable[action];
  if (!(transition.from as readonly OrderStatus[]).includes(current)) return null;
  return railFits(transition.rails, rail) ? transition.to : null;
}

/** Like nextOrderStatus, but an illegal transition is a 409 problem naming the current status. */
export function requireTransition(current: OrderStatus, action: OrderAction, rail: PaymentRail): OrderStatus {
  const next = nextOrderStatus(current, action, rail);
  if (next) return next;
  const transition = orderTransitionTable[action];
  const wrongRail = (transition.from as readonly OrderStatus[]).includes(current);
  throw problem.conflict(
    'illegal-transition',
    wrongRail
      ? `An order paid by ${rail} cannot ${action.replaceAll('_', ' ')}.`
      : `The order is ${current}; it cannot ${action.replaceAll('_', ' ')} from there.`,
    { current_status: current, action, rail },
  );
}
