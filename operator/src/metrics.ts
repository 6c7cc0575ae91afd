import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What `/metrics` shows: reconciles, their errors and duration, the queue, and every write. */
export function operatorMetrics() {
  const registry = new Registry();
  return {
    registry,
    reconciles: new Counter({
      name: 'amanat_operator_reconciles_total',
      help: 'Tenant reconciles, by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'amanat_operator_reconcile_duration_seconds',
      help: 'How long a tenant reconcile took',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'amanat_operator_queue_depth',
      help: 'Tenants waiting to be reconciled (queued or backing off)',
      registers: [registry],
    }),
    writes: new Counter({
      name: 'amanat_operator_writes_total',
      help: 'Write requests to the API server, by kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'amanat_operator_leader',
      help: '1 while this replica holds the leader lease',
      registers: [registry],
    }),
  };
}

export type OperatorMetrics = ReturnType<typeof operatorMetrics>;
