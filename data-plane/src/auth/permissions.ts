/**
 * What each tenant role may do in the shop admin API. Roles live in the control plane;
 * the data plane learns the caller's role only from the control plane's signed token.
 * docs/data-plane-contract.md renders this table for people.
 */
export const tenantRoles = ['owner', 'manager', 'finance', 'support', 'developer'] as const;
export type TenantRole = (typeof tenantRoles)[number];

export const permissions = {
  'catalog.read': ['owner', 'manager', 'finance', 'support', 'developer'],
  'catalog.write': ['owner', 'manager'],
  'inventory.adjust': ['owner', 'manager'],
  'orders.read': ['owner', 'manager', 'finance', 'support'],
  'orders.fulfil': ['owner', 'manager', 'support'],
  'orders.dispute': ['owner', 'manager', 'support'],
  'orders.cancel': ['owner', 'manager'],
  'payments.confirm': ['owner', 'finance'],
  'escrow.settle': ['owner', 'finance'],
  'customers.read': ['owner', 'manager', 'support'],
  'emails.read': ['owner', 'manager', 'support'],
  'emails.retry': ['owner', 'manager', 'support'],
  'customers.disable': ['owner', 'manager'],
  'overview.read': ['owner', 'manager', 'finance'],
  'settings.write': ['owner', 'manager'],
  'webhooks.manage': ['owner', 'developer'],
} as const satisfies Record<string, readonly TenantRole[]>;

export type Permission = keyof typeof permissions;

export function roleMay(role: TenantRole, permission: Permission): boolean {
  return (permissions[permission] as readonly TenantRole[]).includes(role);
}
