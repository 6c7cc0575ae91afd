import { randomBytes } from 'node:crypto';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface EventRecorder {
  record(
    object: { apiVersion: string; kind: string; metadata: { name: string; uid?: string } },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void>;
}

/**
 * Records core/v1 Events about cluster-scoped objects (they live in `default`, where
 * `kubectl describe tenant` looks for them). An Event that cannot be written is logged, not
 * retried: it must never fail a reconcile.
 */
export function eventRecorder(core: CoreV1Api, component: string, log: Logger): EventRecorder {
  return {
    async record(object, type, reason, message) {
      const now = new Date();
      try {
        await core.createNamespacedEvent({
          namespace: 'default',
          body: {
            metadata: {
              name: `${object.metadata.name}.${randomBytes(8).toString('hex')}`,
              namespace: 'default',
            },
            involvedObject: {
              apiVersion: object.apiVersion,
              kind: object.kind,
              name: object.metadata.name,
              ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
            },
            type,
            reason,
            message: message.slice(0, 1024),
            source: { component },
            reportingComponent: component,
            reportingInstance: process.env.HOSTNAME ?? component,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        });
      } catch (error) {
        log.warn({ err: error, reason }, 'could not record an event');
      }
    },
  };
}
