import type { ObjectStore, StoredObject } from './object-store.ts';

export interface RetentionPolicy {
  /** Calendar days, today included, in which the newest backup of each day is kept. */
  dailyDays: number;
  /** Calendar months back from today within which, past the daily window, the newest of each ISO week is kept. */
  weeklyMonths: number;
  /** Calendar months back from today within which, past the weekly window, the newest of each month is kept. */
  monthlyMonths: number;
}

/** 30 daily, then weekly for 6 months, then monthly for 3 years. */
export const DEFAULT_RETENTION: RetentionPolicy = { dailyDays: 30, weeklyMonths: 6, monthlyMonths: 36 };

export interface Backup {
  key: string;
  takenAt: Date;
}

export interface RetentionPlan<T extends Backup> {
  /** Newest first. */
  keep: T[];
  /** Newest first. */
  prune: T[];
}

const DAY_MS = 86_400_000;

function startOfUtcDay(date: Date): number {
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
}

/** The same day of the month `months` earlier, clamped to the month's last day (31 Aug − 6 months = 28/29 Feb). */
function monthsBefore(day: number, months: number): number {
  const date = new Date(day);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() - months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(date.getUTCDate(), lastDay));
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** ISO 8601 week: weeks start on Monday, and week 1 is the one holding the year's first Thursday. */
function isoWeek(day: number): string {
  const weekday = new Date(day).getUTCDay() || 7;
  const thursday = new Date(day + (4 - weekday) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS / 7) + 1;
  return `${year}-W${pad(week)}`;
}

/**
 * The retention bucket a backup taken at `takenAt` falls in when planning at `now`, or null
 * when it is past every window. All dates are UTC calendar dates; "today" is now's date:
 *
 * - **daily**: taken on one of the `dailyDays` days ending today (today and the 29 before it
 *   by default) → `day YYYY-MM-DD`; a backup dated after today (clock skew) counts as today's,
 *   so no date can add buckets beyond the policy's;
 * - **weekly**: otherwise taken on or after the date `weeklyMonths` months before today
 *   (the same day of the month, or that month's last day if shorter) → `week GGGG-Www`,
 *   its ISO week;
 * - **monthly**: otherwise taken on or after the date `monthlyMonths` months before today
 *   → `month YYYY-MM`;
 * - otherwise null.
 *
 * Windows are cut at day boundaries, not week or month ones: an ISO week or a month that
 * straddles two windows is a separate bucket on each side.
 */
export function retentionBucket(
  takenAt: Date,
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
): string | null {
  const today = startOfUtcDay(now);
  const day = Math.min(startOfUtcDay(takenAt), today);
  const date = new Date(day);
  if (day > today - policy.dailyDays * DAY_MS) return `day ${date.toISOString().slice(0, 10)}`;
  if (day >= monthsBefore(today, policy.weeklyMonths)) return `week ${isoWeek(day)}`;
  if (day >= monthsBefore(today, policy.monthlyMonths))
    return `month ${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}`;
  return null;
}

function newestFirst(a: Backup, b: Backup): number {
  return b.takenAt.getTime() - a.takenAt.getTime() || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);
}

/**
 * Which backups a retention policy keeps at `now`: in each bucket of `retentionBucket`, the
 * newest backup (on equal times, the greatest key); every other backup in a bucket, and
 * every backup past all windows, is pruned. The newest backup overall is always kept,
 * whatever its age, so pruning never leaves a tenant without a backup.
 *
 * Pure: the same input gives the same plan, and planning the kept set again prunes nothing.
 */
export function planRetention<T extends Backup>(
  backups: readonly T[],
  now: Date,
  policy: RetentionPolicy = DEFAULT_RETENTION,
): RetentionPlan<T> {
  for (const backup of backups) {
    if (Number.isNaN(backup.takenAt.getTime())) throw new Error(`backup ${backup.key} has an invalid time`);
  }
  const sorted = [...backups].sort(newestFirst);
  const filled = new Set<string>();
  const plan: RetentionPlan<T> = { keep: [], prune: [] };
  for (const [index, backup] of sorted.entries()) {
    const bucket = retentionBucket(backup.takenAt, now, policy);
    const first = bucket !== null && !filled.has(bucket);
    if (bucket !== null) filled.add(bucket);
    (first || index === 0 ? plan.keep : plan.prune).push(backup);
  }
  return plan;
}

/**
 * Applies the policy to the backups under `prefix` (one tenant's folder): deletes exactly
 * what planRetention prunes and returns it with what stays. `takenAt` reads a backup's time
 * (the object's modification time unless given, e.g. parsed from its key); objects it
 * returns null for are not backups and are left alone.
 */
export async function pruneBackups(
  store: ObjectStore,
  prefix: string,
  now: Date,
  options: { policy?: RetentionPolicy; takenAt?: (object: StoredObject) => Date | null } = {},
): Promise<{ kept: (StoredObject & Backup)[]; deleted: (StoredObject & Backup)[] }> {
  const takenAt = options.takenAt ?? ((object: StoredObject) => object.lastModified);
  const backups = (await store.list(prefix)).flatMap((object) => {
    const time = takenAt(object);
    return time ? [{ ...object, takenAt: time }] : [];
  });
  const plan = planRetention(backups, now, options.policy);
  for (const backup of plan.prune) await store.delete(backup.key);
  return { kept: plan.keep, deleted: plan.prune };
}
