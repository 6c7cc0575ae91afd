import { timingSafeEqual } from 'node:crypto';
import { ProblemError, problem } from '@amanat/kit/http/problem';
import { SIGNATURE_HEADER, signEvidence, TIMESTAMP_HEADER } from '@amanat/kit/payments/evidence-signature';
import type { PaymentRail } from '../settings/schema.ts';

/** An incoming evidence request as an adapter sees it: headers and the exact bytes signed. */
export interface EvidenceRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
}

/** Evidence that an order was paid, after the adapter checked where it came from. */
export interface PaymentEvidenceInput {
  /** The adapter's name, recorded on the evidence row; an evidence id counts once per source. */
  source: string;
  evidenceId: string;
  orderId: string;
  amountMinor: number;
  currency: string;
  /** The rail the payer used, when the source says so; must match the order's. */
  rail: PaymentRail | null;
  occurredAt: Date | null;
  note: string | null;
  actorId: string | null;
  payload: Record<string, unknown> | null;
}

/**
 * A source of payment evidence. The platform's scanner (amn_direct, amn_escrow) is the first;
 * staff confirming manual_invoice payments go through the same settlement; the tenant's own
 * provider (external_provider, Stripe first) plugs in as another adapter: its `authenticate`
 * checks the provider's webhook signature, its `evidence` maps the provider's event.
 */
export interface PaymentAdapter<Body = unknown> {
  readonly source: string;
  /** The rails whose orders this adapter may settle. */
  readonly rails: readonly PaymentRail[];
  /** Throws a 401 problem unless the request is authentic and fresh. Runs before the body is validated. */
  authenticate(request: EvidenceRequest, now: Date): void;
  /** The evidence a validated, authenticated body carries. */
  evidence(body: Body): PaymentEvidenceInput;
}

/** How far a signature's timestamp may be from now, either way. */
export { SIGNATURE_HEADER, signEvidence, TIMESTAMP_HEADER };
export const SIGNATURE_TOLERANCE_SECONDS = 300;

const header = (headers: EvidenceRequest['headers'], name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? undefined : value;
};

/**
 * Verifies an HMAC-SHA256 signed request: a timestamp within ±5 minutes and a signature over
 * `${timestamp}.${rawBody}`, compared in constant time.
 */
export function verifySignedRequest(secret: string, request: EvidenceRequest, now: Date): void {
  const timestampText = header(request.headers, TIMESTAMP_HEADER);
  const signature = header(request.headers, SIGNATURE_HEADER);
  if (!timestampText || !signature) {
    throw problem.unauthorized(`Sign the evidence: send ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER}.`);
  }
  if (!/^[0-9]{1,12}$/.test(timestampText)) {
    throw problem.unauthorized(`${TIMESTAMP_HEADER} must be a Unix time in seconds.`);
  }
  const timestamp = Number(timestampText);
  if (Math.abs(now.getTime() / 1000 - timestamp) > SIGNATURE_TOLERANCE_SECONDS) {
    throw new ProblemError(
      401,
      'stale-signature',
      'Unauthorized',
      `The signature's timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} seconds from now; a replay is refused.`,
    );
  }
  const expected = Buffer.from(signEvidence(secret, timestamp, request.rawBody));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw problem.unauthorized('The evidence signature does not match.');
  }
}

export interface ScannerEvidenceBody {
  evidence_id: string;
  order_id: string;
  rail: 'amn_direct' | 'amn_escrow';
  amount_minor: number;
  currency: string;
  paid_at?: string;
  reference?: string;
}

/** The platform's payment scanner: HMAC-signed evidence for amn_direct and amn_escrow payments. */
export function platformScannerAdapter(secret: string): PaymentAdapter<ScannerEvidenceBody> {
  return {
    source: 'platform_scanner',
    rails: ['amn_direct', 'amn_escrow'],
    authenticate: (request, now) => verifySignedRequest(secret, request, now),
    evidence: (body) => ({
      source: 'platform_scanner',
      evidenceId: body.evidence_id,
      orderId: body.order_id.toLowerCase(),
      amountMinor: body.amount_minor,
      currency: body.currency,
      rail: body.rail,
      occurredAt: body.paid_at ? new Date(body.paid_at) : null,
      note: body.reference ?? null,
      actorId: null,
      payload: { ...body },
    }),
  };
}
