import { crdManifests, policyManifests } from '@amanat/cdk8s/chart-files';
import { operatorClusterRules, operatorNamespaceRules } from '@amanat/cdk8s/operator-rbac';
import {
  TENANT_API_VERSION,
  TENANT_GROUP,
  TENANT_KIND,
  TENANT_PLURAL,
  TENANT_VERSION,
  type TenantSpec,
} from '@amanat/cdk8s/tenant-crd';
import { asModel } from '@amanat/operator/kube/apply';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';

export const OPERATOR_NAMESPACE = 'amanat-system';
const OPERATOR_ACCOUNT = 'amanat-operator';
const FIELD_MANAGER = 'e2e-install';

/** A valid Tenant spec whose slug differs from the name the policy probe uses. */
const probeSpec: TenantSpec = {
  tenantId: '00000000-0000-4000-8000-000000000000',
  slug: 'probe-slug',
  displayName: 'Probe',
  tier: 'white_label',
  isolation: { mode: 'shared' },
  dataPlane: { version: '0.1.0' },
  hosts: ['probe.shops.example'],
};

/** Applies a manifest as kubectl would: wire-form field names reach the server intact. */
async function apply(api: KubernetesObjectApi, object: KubernetesObject) {
  await api.patch(asModel(object), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Installs what the Helm chart installs for the operator — the Tenant CRD and the operator's
 * ServiceAccount with the chart's ClusterRole and namespace Role (the same rules, from cdk8s) —
 * and returns a KubeConfig that authenticates as that ServiceAccount with a bound token, so
 * the operator under test has exactly the chart's permissions.
 */
export async function installOperatorPrerequisites(admin: KubeConfig): Promise<KubeConfig> {
  const objects = KubernetesObjectApi.makeApiClient(admin);
  for (const crd of crdManifests()) await apply(objects, crd as KubernetesObject);
  const extensions = admin.makeApiClient(ApiextensionsV1Api);
  await until('the Tenant CRD to be established', async () => {
    const crd = await extensions.readCustomResourceDefinition({ name: `${TENANT_PLURAL}.${TENANT_GROUP}` });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });

  for (const policy of policyManifests()) await apply(objects, policy as KubernetesObject);
  // The API server takes a moment to load a new admission policy: wait until it refuses.
  const custom = admin.makeApiClient(CustomObjectsApi);
  await until('the Tenant admission policy to be enforced', async () => {
    try {
      await custom.createClusterCustomObject({
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: TENANT_PLURAL,
        dryRun: 'All',
        body: {
          apiVersion: TENANT_API_VERSION,
          kind: TENANT_KIND,
          metadata: { name: 'probe-name' },
          spec: probeSpec,
        },
      });
      return false;
    } catch (error) {
      return String((error as { body?: unknown }).body).includes('metadata.name must equal spec.slug');
    }
  });

  const rbac = { apiVersion: 'rbac.authorization.k8s.io/v1' };
  const manifests: KubernetesObject[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: OPERATOR_ACCOUNT, namespace: OPERATOR_NAMESPACE },
    },
    {
      ...rbac,
      kind: 'ClusterRole',
      metadata: { name: OPERATOR_ACCOUNT },
      rules: operatorClusterRules,
    } as KubernetesObject,
    {
      ...rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: OPERATOR_ACCOUNT },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_ACCOUNT },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_ACCOUNT, namespace: OPERATOR_NAMESPACE }],
    } as KubernetesObject,
    {
      ...rbac,
      kind: 'Role',
      metadata: { name: OPERATOR_ACCOUNT, namespace: OPERATOR_NAMESPACE },
      rules: operatorNamespaceRules,
    } as KubernetesObject,
    {
      ...rbac,
      kind: 'RoleBinding',
      metadata: { name: OPERATOR_ACCOUNT, namespace: OPERATOR_NAMESPACE },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: OPERATOR_ACCOUNT },
      subjects: [{ kind: 'ServiceAccount', name: OPERATOR_ACCOUNT, namespace: OPERATOR_NAMESPACE }],
    } as KubernetesObject,
  ];
  for (const manifest of manifests) await apply(objects, manifest);
  // RBAC is cached by the authorizer for a moment; make sure the binding is visible.
  await until('the ClusterRoleBinding', () =>
    admin.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: OPERATOR_ACCOUNT }),
  );

  return serviceAccountKubeConfig(admin, OPERATOR_NAMESPACE, OPERATOR_ACCOUNT);
}

/**
 * A KubeConfig for the same cluster that authenticates as a ServiceAccount, with a bound token
 * (an hour): what the account's RBAC allows, and nothing more.
 */
export async function serviceAccountKubeConfig(
  admin: KubeConfig,
  namespace: string,
  name: string,
): Promise<KubeConfig> {
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { expirationSeconds: 3600, audiences: [] } },
  });
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig names no cluster');
  const scoped = new KubeConfig();
  scoped.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: token.status?.token }],
    contexts: [{ name, cluster: cluster.name, user: name }],
    currentContext: name,
  });
  return scoped;
}
