import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FileObjectStore } from './object-store.ts';
import { type Backup, planRetention, pruneBackups, retentionBucket } from './retention.ts';

const DAY = 86_400_000;
// A Sunday: the daily window is 2026-10-24 … 2026-11-22, the weekly one reaches back to
// 2026-05-22 and the monthly one to 2023-11-22.
const NOW = new Date('2026-11-22T12:00:00Z');

function backup(iso: string): Backup {
  return { key: iso, takenAt: new Date(iso) };
}

function kept(isos: string[], now = NOW): string[] {
  return planRetention(isos.map(backup), now)
    .keep.map((b) => b.key)
    .sort();
}

describe('retentionBucket', () => {
  it('cuts the windows at UTC day boundaries', () => {
    const bucket = (iso: string, now = NOW) => retentionBucket(new Date(iso), now);
    expect(bucket('2026-11-22T23:59:59Z')).toBe('day 2026-11-22');
    expect(bucket('2026-11-23T01:00:00Z')).toBe('day 2026-11-22'); // clock skew: counts as today
    expect(bucket('2026-10-24T00:00:00Z')).toBe('day 2026-10-24'); // 29 days back: the 30th day
    expect(bucket('2026-10-23T23:59:59Z')).toBe('week 2026-W43'); // 30 days back
    expect(bucket('2026-05-22T00:00:00Z')).toBe('week 2026-W21'); // exactly 6 months back
    expect(bucket('2026-05-21T23:59:59Z')).toBe('month 2026-05');
    expect(bucket('2023-11-22T00:00:00Z')).toBe('month 2023-11'); // exactly 3 years back
    expect(bucket('2023-11-21T23:59:59Z')).toBeNull();
    // A shorter month clamps: 31 August − 6 months is 28 February.
    expect(bucket('2026-02-28T00:00:00Z', new Date('2026-08-31T08:00:00Z'))).toBe('week 2026-W09');
    expect(bucket('2026-02-27T23:59:59Z', new Date('2026-08-31T08:00:00Z'))).toBe('month 2026-02');
  });

  it('names ISO weeks, including those that cross a year', () => {
    const week = (iso: string) => retentionBucket(new Date(iso), new Date('2027-03-01T00:00:00Z'));
    expect(week('2026-12-28T00:00:00Z')).toBe('week 2026-W53');
    expect(week('2027-01-03T00:00:00Z')).toBe('week 2026-W53');
    expect(week('2027-01-04T00:00:00Z')).toBe('week 2027-W01');
    expect(week('2026-01-01T00:00:00Z')).toBe('month 2026-01');
  });
});

describe('planRetention', () => {
  it('keeps the newest of same-day duplicates', () => {
    expect(kept(['2026-11-22T01:00:00Z', '2026-11-22T03:00:00Z', '2026-11-22T02:00:00Z'])).toEqual([
      '2026-11-22T03:00:00Z',
    ]);
  });

  it('keeps one backup a day for 30 days, then one per ISO week', () => {
    // 24 and 25 October are the oldest daily days; 22 and 23 October share week 43.
    expect(
      kept(['2026-10-25T02:00:00Z', '2026-10-24T02:00:00Z', '2026-10-23T02:00:00Z', '2026-10-22T02:00:00Z']),
    ).toEqual(['2026-10-23T02:00:00Z', '2026-10-24T02:00:00Z', '2026-10-25T02:00:00Z']);
  });

  it('splits weeks on Monday', () => {
    expect(kept(['2026-10-18T02:00:00Z', '2026-10-19T02:00:00Z'])).toHaveLength(2);
    expect(kept(['2026-10-12T02:00:00Z', '2026-10-18T02:00:00Z', '2026-11-22T02:00:00Z'])).toEqual([
      '2026-10-18T02:00:00Z',
      '2026-11-22T02:00:00Z',
    ]);
  });

  it('keeps one per month past 6 months, and nothing past 3 years but the newest', () => {
    const plan = planRetention(
      [
        '2026-11-22T02:00:00Z',
        '2026-05-22T02:00:00Z', // weekly: exactly 6 months back
        '2026-05-21T02:00:00Z', // monthly: May's newest past the weekly window
        '2026-05-20T02:00:00Z', // same month: pruned
        '2023-11-22T02:00:00Z', // monthly: exactly 3 years back
        '2023-11-21T02:00:00Z', // too old
      ].map(backup),
      NOW,
    );
    expect(plan.keep.map((b) => b.key)).toEqual([
      '2026-11-22T02:00:00Z',
      '2026-05-22T02:00:00Z',
      '2026-05-21T02:00:00Z',
      '2023-11-22T02:00:00Z',
    ]);
    expect(plan.prune.map((b) => b.key)).toEqual(['2026-05-20T02:00:00Z', '2023-11-21T02:00:00Z']);
  });

  it('always keeps the newest backup, however old', () => {
    expect(kept(['2019-01-01T00:00:00Z'])).toEqual(['2019-01-01T00:00:00Z']);
    expect(kept(['2019-01-01T00:00:00Z', '2020-06-01T00:00:00Z', '2018-01-01T00:00:00Z'])).toEqual([
      '2020-06-01T00:00:00Z',
    ]);
    expect(planRetention([], NOW)).toEqual({ keep: [], prune: [] });
  });

  it('breaks a tie in time by key, so the plan does not depend on input order', () => {
    const a = { key: 'a', takenAt: new Date('2026-11-20T00:00:00Z') };
    const b = { key: 'b', takenAt: new Date('2026-11-20T00:00:00Z') };
    expect(planRetention([a, b], NOW).keep).toEqual([b]);
    expect(planRetention([b, a], NOW).keep).toEqual([b]);
  });

  it('refuses a backup with an invalid time', () => {
    expect(() => planRetention([{ key: 'x', takenAt: new Date(Number.NaN) }], NOW)).toThrow(
      /backup x has an invalid time/,
    );
  });

  it('run daily for 4 years of nightly backups, covers every day, week and month of its windows', () => {
    let backups: Backup[] = [];
    let now = new Date('2022-11-01T02:00:00Z');
    for (; now <= NOW; now = new Date(now.getTime() + DAY)) {
      backups.push({ key: now.toISOString(), takenAt: now });
      backups = planRetention(backups, now).keep;
    }
    const last = backups[0]?.takenAt as Date;
    const buckets = new Set(backups.map((b) => retentionBucket(b.takenAt, last)));
    expect(buckets.size).toBe(backups.length);
    const count = (tier: string) => [...buckets].filter((bucket) => bucket?.startsWith(tier)).length;
    expect(count('day')).toBe(30);
    // 23 October 2026 (ISO week 43) back to 22 May 2026 (week 21).
    expect(count('week')).toBe(23);
    // 21 May 2026 back to 22 November 2023: months 2023-11 … 2026-05.
    expect(count('month')).toBe(31);
    expect(buckets.has(null)).toBe(false);
  });
});

describe('planRetention properties', () => {
  const minTime = NOW.getTime() - 5 * 365 * DAY;
  const arbitraryBackups = fc.uniqueArray(
    fc.record({
      key: fc.string({ minLength: 1, maxLength: 8 }),
      takenAt: fc.integer({ min: minTime, max: NOW.getTime() + 2 * DAY }).map((ms) => new Date(ms)),
    }),
    { selector: (b) => b.key, maxLength: 400 },
  );
  // Daily backups bunch into the windows, the way real ones do, so buckets fill up.
  const denseBackups = fc
    .uniqueArray(fc.integer({ min: 0, max: 4 * 365 * 4 }), { maxLength: 1500 })
    .map((slots) =>
      slots.map((slot) => ({ key: `k${slot}`, takenAt: new Date(NOW.getTime() - slot * (DAY / 4)) })),
    );
  const arbitraryNow = fc
    .integer({ min: NOW.getTime() - 400 * DAY, max: NOW.getTime() })
    .map((ms) => new Date(ms));
  const cases = fc.tuple(fc.oneof(arbitraryBackups, denseBackups), arbitraryNow);
  const newest = (backups: Backup[]) =>
    [...backups].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())[0];

  it('partitions the input into keep and prune', () => {
    fc.assert(
      fc.property(cases, ([backups, now]) => {
        const plan = planRetention(backups, now);
        expect(plan.keep.length + plan.prune.length).toBe(backups.length);
        expect(new Set([...plan.keep, ...plan.prune])).toEqual(new Set(backups));
      }),
    );
  });

  it('keeps at most 30 daily, 23 weekly and 31 monthly backups, plus an old newest one', () => {
    fc.assert(
      fc.property(cases, ([backups, now]) => {
        const buckets = planRetention(backups, now).keep.map((b) => retentionBucket(b.takenAt, now));
        const count = (tier: string) => buckets.filter((bucket) => bucket?.startsWith(tier)).length;
        expect(count('day')).toBeLessThanOrEqual(30);
        expect(count('week')).toBeLessThanOrEqual(23);
        expect(count('month')).toBeLessThanOrEqual(31);
        expect(buckets.filter((bucket) => bucket === null).length).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('keeps exactly the newest backup of every bucket that has one, and the newest overall', () => {
    fc.assert(
      fc.property(cases, ([backups, now]) => {
        const plan = planRetention(backups, now);
        const overall = newest(backups);
        if (overall) expect(plan.keep.map((b) => b.takenAt.getTime())).toContain(overall.takenAt.getTime());
        const byBucket = new Map<string, Backup[]>();
        for (const b of backups) {
          const bucket = retentionBucket(b.takenAt, now);
          if (bucket !== null) byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), b]);
        }
        for (const members of byBucket.values()) {
          const keptMembers = members.filter((b) => plan.keep.includes(b));
          expect(keptMembers).toHaveLength(1);
          expect(keptMembers[0]?.takenAt.getTime()).toBe(newest(members)?.takenAt.getTime());
        }
      }),
    );
  });

  it('keeps nothing older than 3 years but the newest overall', () => {
    fc.assert(
      fc.property(cases, ([backups, now]) => {
        const plan = planRetention(backups, now);
        const tooOld = plan.keep.filter((b) => retentionBucket(b.takenAt, now) === null);
        expect(tooOld.every((b) => b === plan.keep[0] && plan.keep.length === 1)).toBe(true);
      }),
    );
  });

  it('is idempotent: planning what it keeps prunes nothing', () => {
    fc.assert(
      fc.property(cases, ([backups, now]) => {
        const { keep } = planRetention(backups, now);
        expect(planRetention(keep, now)).toEqual({ keep, prune: [] });
      }),
    );
  });
});

describe('pruneBackups', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('deletes exactly what the plan prunes, under the prefix only, leaving other objects alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'amanat-prune-'));
    dirs.push(dir);
    const store = new FileObjectStore(dir);
    const times = [
      '2026-11-22T02:00:00Z',
      '2026-11-22T01:00:00Z',
      '2026-05-20T02:00:00Z',
      '2026-05-10T02:00:00Z',
    ];
    for (const time of times) {
      await store.put(`tenants/a/${time}.tar.gz`, Buffer.from(time));
      await store.put(`tenants/b/${time}.tar.gz`, Buffer.from(time));
    }
    await store.put('tenants/a/notes.txt', Buffer.from('not a backup'));
    const takenAt = ({ key }: { key: string }) => {
      const match = /\/([^/]+)\.tar\.gz$/.exec(key);
      return match?.[1] ? new Date(match[1]) : null;
    };

    const result = await pruneBackups(store, 'tenants/a/', NOW, { takenAt });

    expect(result.deleted.map((o) => o.key)).toEqual([
      'tenants/a/2026-11-22T01:00:00Z.tar.gz',
      'tenants/a/2026-05-10T02:00:00Z.tar.gz',
    ]);
    expect(result.kept.map((o) => o.key)).toEqual([
      'tenants/a/2026-11-22T02:00:00Z.tar.gz',
      'tenants/a/2026-05-20T02:00:00Z.tar.gz',
    ]);
    expect((await store.list('tenants/a/')).map((o) => o.key)).toEqual([
      'tenants/a/2026-05-20T02:00:00Z.tar.gz',
      'tenants/a/2026-11-22T02:00:00Z.tar.gz',
      'tenants/a/notes.txt',
    ]);
    expect(await store.list('tenants/b/')).toHaveLength(4);
    expect(await pruneBackups(store, 'tenants/a/', NOW, { takenAt })).toMatchObject({ deleted: [] });
  });

  it("uses the objects' modification times by default", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'amanat-prune-'));
    dirs.push(dir);
    const store = new FileObjectStore(dir);
    await store.put('x/1', Buffer.from('1'));
    await store.put('x/2', Buffer.from('2'));
    const result = await pruneBackups(store, 'x/', new Date());
    // Both were written today: one bucket, and the second write is the newer (or a tie won by key).
    expect(result.kept.map((o) => o.key)).toEqual(['x/2']);
    expect(result.deleted.map((o) => o.key)).toEqual(['x/1']);
  });
});
