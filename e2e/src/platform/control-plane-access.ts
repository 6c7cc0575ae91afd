import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CHART_DIR } from '@amanat/cdk8s/generate';
import { testToolPath } from '@amanat/kit/testing/test-tools';
import { asModel } from '@amanat/operator/kube/apply';
import {
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  VersionApi,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { until } from '../operator/harness.ts';
import { serviceAccountKubeConfig } from '../operator/install.ts';

const run = promisify(execFile);
const RELEASE = 'amanat';
const CONTROL_PLANE = `${RELEASE}-control-plane`;
const FIELD_MANAGER = 'e2e-install';
/** The kinds that make up the control plane's access to the cluster in the chart. */
const ACCESS_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']);

/** The control plane's ServiceAccount, ClusterRole and binding, as `helm template` renders them from the chart. */
async function chartAccessManifests(namespace: string, kubeVersion: string): Promise<KubernetesObject[]> {
  const { stdout } = await run(testToolPath('helm'), [
    'template',
    RELEASE,
    new URL(CHART_DIR).pathname,
    '--namespace',
    namespace,
    '--kube-version',
    kubeVersion,
    '--show-only',
    'templates/control-plane.yaml',
  ]);
  const manifests = parseAllDocuments(stdout)
    .map((document) => document.toJS() as KubernetesObject | null)
    .filter(
      (manifest): manifest is KubernetesObject =>
        manifest !== null &&
        ACCESS_KINDS.has(manifest.kind ?? '') &&
        manifest.metadata?.name === CONTROL_PLANE,
    );
  if (manifests.length !== ACCESS_KINDS.size) {
    throw new Error(`the chart's control-plane.yaml no longer renders ${[...ACCESS_KINDS].join(', ')}`);
  }
  return manifests;
}

/**
 * Installs the control plane's ServiceAccount with the chart's own ClusterRole (rendered by
 * helm, not copied) into `namespace`, and returns a KubeConfig that authenticates as it with
 * a bound token: the control plane under test has exactly the chart's permissions.
 */
export async function installControlPlaneAccess(admin: KubeConfig, namespace: string): Promise<KubeConfig> {
  const objects = KubernetesObjectApi.makeApiClient(admin);
  const { gitVersion } = await admin.makeApiClient(VersionApi).getCode();
  for (const manifest of await chartAccessManifests(namespace, gitVersion)) {
    await objects.patch(
      asModel(manifest),
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  }
  await until('the control plane ClusterRoleBinding', () =>
    admin.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: CONTROL_PLANE }),
  );
  return serviceAccountKubeConfig(admin, namespace, CONTROL_PLANE);
}
