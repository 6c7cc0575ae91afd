import { errorResponses, literals, Strict, Timestamp, Uuid } from '@amanat/kit/http/schemas';
import type { App } from '@amanat/kit/http/types';
import { Type } from 'typebox';
import { requirePermission, type StaffIdentity, staffActor } from '../auth/staff.ts';
import type { ServiceContext } from '../context.ts';
import { orderStatuses } from '../orders/schema.ts';
import { customerSorts, getCustomer, listCustomers, setCustomerDisabled } from './service.ts';

const Minor = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Count = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

const customerFields = {
  id: Uuid,
  email_masked: Type.Union([Type.String(), Type.Null()], {
    description: 'first letter and domain only, e.g. j***@gmail.com; null for a Telegram-only buyer',
  }),
  display_name: Type.Union([Type.String(), Type.Null()]),
  status: literals(['active', 'disabled']),
  joined_at: Timestamp,
  last_active_at: Type.Union([Timestamp, Type.Null()]),
  order_count: Type.Integer({ description: 'orders placed (any status but draft)' }),
  total_spent_minor: Type.Integer({
    description: "sum of paid orders' totals in the shop currency (paid statuses: see the overview)",
  }),
};

const CustomerListItem = Strict(customerFields);

const CustomerDetail = Strict({
  ...customerFields,
  disabled_at: Type.Union([Timestamp, Type.Null()]),
  marketing_opt_in: Type.Boolean(),
  marketing_opted_in_at: Type.Union([Timestamp, Type.Null()]),
  marketing_opted_out_at: Type.Union([Timestamp, Type.Null()]),
  address_count: Type.Integer(),
  currency: Type.String(),
  recent_orders: Type.Array(
    Strict({
      id: Uuid,
      status: literals(orderStatuses),
      total_minor: Type.Integer(),
      currency: Type.String(),
      created_at: Timestamp,
    }),
  ),
});

const Params = Strict({ id: Uuid });
const tags = ['admin'];

/** The shop's buyer accounts, for staff: list, detail (masked emails), disable and enable. */
export async function customerRoutes(
  app: App,
  ctx: ServiceContext,
  verifyStaff: (token: string) => Promise<StaffIdentity>,
) {
  const read = requirePermission(verifyStaff, 'customers.read');
  const disable = requirePermission(verifyStaff, 'customers.disable');

  app.get(
    '/api/admin/customers',
    {
      preValidation: read,
      schema: {
        tags,
        summary: 'Buyer accounts with order count, total spent and last activity; sortable and filterable',
        querystring: Strict({
          sort: Type.Optional(literals(customerSorts)),
          order: Type.Optional(literals(['asc', 'desc'])),
          status: Type.Optional(literals(['active', 'disabled'])),
          joined_after: Type.Optional(Timestamp),
          joined_before: Type.Optional(Timestamp),
          active_after: Type.Optional(Timestamp),
          active_before: Type.Optional(Timestamp),
          min_orders: Type.Optional(Count),
          max_orders: Type.Optional(Count),
          min_spent: Type.Optional(Minor),
          max_spent: Type.Optional(Minor),
          page: Type.Integer({ minimum: 1, maximum: 100_000, default: 1 }),
          limit: Type.Integer({ minimum: 1, maximum: 100, default: 25 }),
        }),
        response: {
          200: Strict({
            items: Type.Array(CustomerListItem),
            currency: Type.String(),
            page: Type.Integer(),
            limit: Type.Integer(),
            total: Type.Integer(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) =>
      listCustomers(ctx, {
        ...request.query,
        sort: request.query.sort ?? 'joined_at',
        order: request.query.order ?? 'desc',
      }),
  );

  app.get(
    '/api/admin/customers/:id',
    {
      preValidation: read,
      schema: {
        tags,
        summary: 'One buyer account with stats and recent orders (email masked)',
        params: Params,
        response: { 200: CustomerDetail, ...errorResponses },
      },
    },
    async (request) => getCustomer(ctx, request.params.id),
  );

  for (const [action, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post(
      `/api/admin/customers/:id/${action}`,
      {
        preValidation: disable,
        schema: {
          tags,
          summary: disabled
            ? "Disable a buyer's access to this shop: sign-in refused, every session ended"
            : "Restore a disabled buyer's access",
          params: Params,
          body: Type.Union([
            Strict({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }),
            Type.Null(),
          ]),
          response: { 200: CustomerDetail, ...errorResponses },
        },
      },
      async (request) => {
        await setCustomerDisabled(
          ctx,
          staffActor(request),
          request.params.id,
          disabled,
          request.body?.reason,
        );
        return getCustomer(ctx, request.params.id);
      },
    );
  }
}
