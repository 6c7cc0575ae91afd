import { isDeepStrictEqual } from 'node:util';
import type { ConditionType, TenantCondition, TenantPhase, TenantStatus } from '@amanat/cdk8s/tenant-crd';

export interface Observation {
  type: ConditionType;
  status: boolean;
  reason: string;
  message: string;
}

/**
 * The conditions after `observations`: a condition whose status did not change keeps its
 * lastTransitionTime, so an unchanged tenant yields an identical status (and no write).
 */
export function nextConditions(
  current: readonly TenantCondition[],
  observations: readonly Observation[],
  generation: number,
  now: Date,
): TenantCondition[] {
  const byType = new Map(current.map((condition) => [condition.type, condition]));
  for (const observation of observations) {
    const status = observation.status ? 'True' : 'False';
    const previous = byType.get(observation.type);
    byType.set(observation.type, {
      type: observation.type,
      status,
      observedGeneration: generation,
      lastTransitionTime:
        previous && previous.status === status ? previous.lastTransitionTime : now.toISOString(),
      reason: observation.reason,
      message: observation.message,
    });
  }
  return [...byType.values()];
}

/** Which conditions changed status between two lists: the Events to record. */
export function transitions(
  before: readonly TenantCondition[],
  after: readonly TenantCondition[],
): TenantCondition[] {
  const previous = new Map(before.map((condition) => [condition.type, condition.status]));
  return after.filter((condition) => previous.get(condition.type) !== condition.status);
}

const isTrue = (conditions: readonly TenantCondition[], type: ConditionType) =>
  conditions.some((condition) => condition.type === type && condition.status === 'True');

/** The one-word summary `kubectl get tenants` shows. */
export function phaseOf(conditions: readonly TenantCondition[], deleting: boolean): TenantPhase {
  if (deleting) return 'Deleting';
  if (isTrue(conditions, 'Degraded')) return 'Degraded';
  if (isTrue(conditions, 'Suspended')) return 'Suspended';
  if (isTrue(conditions, 'Ready')) return 'Ready';
  if (isTrue(conditions, 'DatabaseReady')) return 'Provisioning';
  return conditions.length === 0 ? 'Pending' : 'Provisioning';
}

/** Whether writing `next` would change anything (the zero-churn check). */
export const statusUnchanged = (current: TenantStatus | undefined, next: TenantStatus) =>
  isDeepStrictEqual(normalize(current ?? {}), normalize(next));

function normalize(status: TenantStatus): TenantStatus {
  const conditions = [...(status.conditions ?? [])].sort((a, b) => a.type.localeCompare(b.type));
  return JSON.parse(JSON.stringify({ ...status, conditions })) as TenantStatus;
}
