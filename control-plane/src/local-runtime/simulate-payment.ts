import { ProblemError, problem } from '@amanat/kit/http/problem';
import { errorResponses, Strict, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { recordAudit } from '../audit/record.ts';
import { actorOf, authOf, requirePlatformAdmin } from '../auth/authenticate.ts';
import type { ServiceContext } from '../context.ts';
import type { SigningKey } from '../data-plane-access/signing.ts';
import { findTenant } from '../tenants/queries.ts';
import { DataPlaneRefusal, simulatePayment } from './demo.ts';

/** Where the local runtime runs a tenant's data plane, and the secret its payment evidence is signed with. */
export interface LocalDataPlanes {
  tenantEndpoint(tenantId: string): Promise<{ url: string; paymentEvidenceSecret: string } | null>;
}

/** The rails whose payments arrive as scanner evidence; the other rails are settled elsewhere. */
const SCANNER_RAILS = ['amn_direct', 'amn_escrow'];

/** The least tenant role that may read an order: the simulator only needs its rail and total. */
const ORDER_READER_ROLE = 'finance';

const Params = Strict({ tenantId: Uuid, orderId: Uuid });

const badGateway = (detail: string) => new ProblemError(502, 'data-plane-unavailable', 'Bad gateway', detail);

/** The data plane's own problem detail, when it sent one. */
function detailOf(refusal: DataPlaneRefusal): string {
  try {
    return (JSON.parse(refusal.body) as { detail?: string }).detail ?? refusal.body;
  } catch {
    return refusal.body;
  }
}

/**
 * The local platform's stand-in for the Amanat payment scanner: a platform admin settles an
 * order as if the buyer had paid, with evidence signed by that tenant's own
 * PAYMENT_EVIDENCE_SECRET and posted to its data plane, so the real evidence path runs. Only
 * the local platform registers these routes (its runtime holds the secrets); production
 * payments come from the scanner itself.
 */
export async function simulatedPaymentRoutes(
  app: App,
  ctx: ServiceContext,
  dataPlanes: LocalDataPlanes,
  signingKey: SigningKey,
) {
  app.post(
    '/admin/tenants/:tenantId/orders/:orderId/simulate-payment',
    {
      preValidation: requirePlatformAdmin(ctx),
      schema: {
        tags: ['admin'],
        summary: 'Local platform only: pay an order with simulated scanner evidence (amn_escrow, amn_direct)',
        description:
          "Signs evidence for the order's full total with the tenant's payment-evidence secret and posts it to the shop's data plane. 404 for an unknown tenant or order; 409 when the shop has no running data plane, the order's rail is not paid through the scanner, or the data plane refuses the evidence (already paid, cancelled…).",
        params: Params,
        response: {
          200: Strict({ order_id: Uuid, status: Type.String(), rail: Type.String() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { tenantId, orderId } = request.params;
      const tenant = await findTenant(ctx.db, tenantId);
      if (!tenant) throw problem.notFound(`No tenant ${tenantId}.`);
      const endpoint = await dataPlanes.tenantEndpoint(tenant.id);
      if (!endpoint) {
        throw problem.conflict(
          'data-plane-not-running',
          `The tenant is ${tenant.status}; no data plane of it runs.`,
          {
            current_status: tenant.status,
          },
        );
      }
      const api = {
        baseUrl: endpoint.url,
        paymentEvidenceSecret: endpoint.paymentEvidenceSecret,
        staffToken: async () =>
          (
            await signingKey.sign({
              sub: authOf(request).user.id,
              role: ORDER_READER_ROLE,
              aud: `tenant:${tenant.id}`,
            })
          ).token,
      };
      const order = await readOrder(api, orderId);
      if (!SCANNER_RAILS.includes(order.rail)) {
        throw problem.conflict(
          'rail-not-simulated',
          `The order is paid by ${order.rail}; only ${SCANNER_RAILS.join(' and ')} payments come from the scanner.`,
          { rail: order.rail },
        );
      }
      let settlement: { order_id: string; status: string; rail: string };
      try {
        settlement = await simulatePayment(api, order);
      } catch (error) {
        if (!(error instanceof DataPlaneRefusal))
          throw badGateway(`The shop's data plane did not answer: ${error}`);
        if (error.status === 404) throw problem.notFound(`No order ${orderId} in ${tenant.slug}.`);
        if (error.status < 500) {
          throw problem.conflict('payment-refused', `The shop refused the payment: ${detailOf(error)}`, {
            current_status: order.status,
          });
        }
        throw badGateway(`The shop's data plane answered ${error.status}: ${detailOf(error)}`);
      }
      await recordAudit(ctx.db, actorOf(request), {
        action: 'order.payment_simulated',
        targetType: 'order',
        targetId: orderId,
        tenantId: tenant.id,
        before: { status: order.status },
        after: {
          status: settlement.status,
          rail: settlement.rail,
          amount_minor: order.total_minor,
          currency: order.currency,
        },
      });
      return { order_id: settlement.order_id, status: settlement.status, rail: settlement.rail };
    },
  );
}

interface OrderToPay {
  id: string;
  status: string;
  rail: string;
  total_minor: number;
  currency: string;
}

/** The order from the shop's admin API, read with a short-lived staff token. */
async function readOrder(
  api: { baseUrl: string; staffToken(): Promise<string> },
  orderId: string,
): Promise<OrderToPay> {
  let response: Response;
  try {
    response = await fetch(`${api.baseUrl}/api/admin/orders/${orderId}`, {
      headers: { authorization: `Bearer ${await api.staffToken()}` },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw badGateway(`The shop's data plane did not answer: ${error}`);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw problem.notFound(`No order ${orderId} in this shop.`);
  }
  if (!response.ok)
    throw badGateway(`The shop's data plane answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as OrderToPay;
}
