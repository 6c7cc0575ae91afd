import type { TenantStatus } from './schema.ts';

/**
 * The tenant lifecycle, in one place: each action names the statuses it may start from
 * and the status it leads to. `closed` is terminal.
 */
export const tenantTransitions = {
  approve: { from: ['pending'], to: 'active' },
  suspend: { from: ['active'], to: 'suspended' },
  reactivate: { from: ['suspended'], to: 'active' },
  close: { from: ['pending', 'active', 'suspended'], to: 'closed' },
} as const satisfies Record<string, { from: readonly TenantStatus[]; to: TenantStatus }>;

export type TenantAction = keyof typeof tenantTransitions;
export const tenantActions = Object.keys(tenantTransitions) as TenantAction[];

/** The status after `action`, or null when the action is illegal from `current`. */
export function nextTenantStatus(current: TenantStatus, action: TenantAction): TenantStatus | null {
  const transition = tenantTransitions[action];
  return (transition.from as readonly TenantStatus[]).includes(current) ? transition.to : null;
}
