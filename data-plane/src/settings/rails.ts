import type { PaymentRail } from './schema.ts';

/**
 * What the buyer is told for each rail, in the payment spec's terms and without naming the
 * platform (a white-label shop never does unless it chooses to disclose).
 */
export const railDisclosures: Record<PaymentRail, string> = {
  amn_escrow: 'Protected by escrow: your payment is held and released to the seller only after delivery.',
  amn_direct: 'Paid through the platform with no escrow hold: the seller receives the payment directly.',
  external_provider:
    "Paid outside the platform through the shop's own payment provider; no escrow protection.",
  manual_invoice: 'Paid by invoice: the shop confirms your payment by hand; no escrow protection.',
};

export const railEscrows: Record<PaymentRail, boolean> = {
  amn_escrow: true,
  amn_direct: false,
  external_provider: false,
  manual_invoice: false,
};
