import { type CoordinationV1Api, type V1Lease, type V1LeaseSpec, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from './apply.ts';

export interface LeaderElectionOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** How often the leader renews (well under the lease duration). */
  renewEveryMs: number;
  log: Logger;
  onStartedLeading: () => void;
  /** Called when leadership is lost: the process must stop acting at once. */
  onStoppedLeading: () => void;
}

/**
 * Leader election on a coordination.k8s.io Lease, written here because
 * @kubernetes/client-node has none. The same protocol as client-go's: the holder renews the
 * lease; a candidate takes it only once `renewTime + leaseDurationSeconds` has passed; every
 * write carries the resourceVersion it read, so two candidates cannot both win.
 */
export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenewal = 0;
  private stopped = false;

  constructor(private readonly options: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stops campaigning; a leader gives the lease up so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.read();
      if (lease?.spec?.holderIdentity === this.options.identity) {
        await this.write({
          ...lease,
          spec: { ...microTimes(lease.spec), holderIdentity: '', leaseDurationSeconds: 1 },
        });
      }
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not release the leader lease');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = this.leading ? this.options.renewEveryMs : this.options.renewEveryMs / 2;
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    try {
      const acquired = await this.tryAcquireOrRenew();
      if (acquired) this.lastRenewal = Date.now();
      if (acquired && !this.leading) {
        this.leading = true;
        this.options.log.info({ identity: this.options.identity }, 'became the leader');
        this.options.onStartedLeading();
      } else if (!acquired && this.leading) this.lose('another replica holds the lease');
    } catch (error) {
      this.options.log.warn({ err: error }, 'leader election request failed');
      if (this.leading && Date.now() - this.lastRenewal > this.options.leaseDurationSeconds * 1000) {
        this.lose('could not renew the lease in time');
      }
    }
    this.schedule();
  }

  private lose(why: string): void {
    this.leading = false;
    this.options.log.warn({ why }, 'lost leadership');
    this.options.onStoppedLeading();
  }

  private async read(): Promise<V1Lease | null> {
    try {
      return await this.options.coordination.readNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
      });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private write(lease: V1Lease): Promise<V1Lease> {
    return this.options.coordination.replaceNamespacedLease({
      name: this.options.name,
      namespace: this.options.namespace,
      body: lease,
    });
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, leaseDurationSeconds, namespace, name } = this.options;
    const now = new V1MicroTime();
    const lease = await this.read();
    try {
      if (!lease) {
        await this.options.coordination.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      }
      const spec = microTimes(lease.spec);
      const held = spec.holderIdentity === identity;
      const renewedAt = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
      const expired = renewedAt + (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000 < now.getTime();
      if (!held && spec.holderIdentity && !expired) return false;
      await this.write({
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds,
          renewTime: now,
          ...(held ? {} : { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
        },
      });
      return true;
    } catch (error) {
      // Someone else wrote the lease between our read and write: they won this round.
      if (isConflict(error)) return false;
      throw error;
    }
  }
}

/**
 * Lease times are MicroTime: the API server wants six fractional digits, and a plain Date
 * (what a read returns) serialises with three. Every time written goes out as V1MicroTime.
 */
function microTimes(spec: V1LeaseSpec = {}): V1LeaseSpec {
  return {
    ...spec,
    ...(spec.acquireTime ? { acquireTime: new V1MicroTime(spec.acquireTime) } : {}),
    ...(spec.renewTime ? { renewTime: new V1MicroTime(spec.renewTime) } : {}),
  };
}
