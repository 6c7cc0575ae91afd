import type { k8s } from 'cdk8s-plus-32';
import { TENANT_GROUP, TENANT_PLURAL } from './tenant-crd.ts';

const APPLY = ['get', 'create', 'patch'];

/**
 * Everything the operator may do cluster-wide, and nothing more: the e2e suite runs the
 * operator under exactly these rules (a ServiceAccount token), so a missing one fails a test
 * and a needless one is visible here. What it does in its own namespace only is in
 * `operatorNamespaceRules`.
 */
export const operatorClusterRules: k8s.PolicyRule[] = [
  { apiGroups: [TENANT_GROUP], resources: [TENANT_PLURAL], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: [TENANT_GROUP], resources: [`${TENANT_PLURAL}/status`], verbs: ['get', 'patch'] },
  { apiGroups: [''], resources: ['namespaces'], verbs: [...APPLY, 'delete'] },
  {
    apiGroups: [''],
    resources: ['resourcequotas', 'limitranges', 'serviceaccounts', 'secrets', 'services'],
    verbs: APPLY,
  },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: APPLY },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: [...APPLY, 'list', 'watch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: APPLY },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
];

/**
 * The operator's rules in its own namespace (a Role): the leader-election Lease, and the
 * tenants' backup CronJobs, which run there beside the provisioner's Secret so that no
 * tenant namespace ever holds database admin credentials.
 */
export const operatorNamespaceRules: k8s.PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: [...APPLY, 'delete'] },
];
