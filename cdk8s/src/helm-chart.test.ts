import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { testToolPath } from '@amanat/kit/testing/test-tools';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR } from './generate.ts';
import { operatorClusterRules, operatorNamespaceRules } from './operator-rbac.ts';

const run = promisify(execFile);
const chart = fileURLToPath(CHART_DIR);
const KUBE_VERSION = '1.36.3';

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: unknown[];
  spec?: {
    template?: {
      spec: {
        securityContext?: Record<string, unknown>;
        containers: { name: string; securityContext?: Record<string, unknown> }[];
      };
    };
  };
}

async function template(...values: string[]): Promise<Manifest[]> {
  const { stdout } = await run(testToolPath('helm'), [
    'template',
    'demo',
    chart,
    '--namespace',
    'amanat-system',
    '--kube-version',
    KUBE_VERSION,
    '--include-crds',
    ...values.flatMap((value) => ['--set', value]),
  ]);
  return parseAllDocuments(stdout)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
}

describe('the Helm chart', () => {
  it('passes helm lint --strict', async () => {
    const { stdout } = await run(testToolPath('helm'), [
      'lint',
      chart,
      '--strict',
      '--kube-version',
      KUBE_VERSION,
    ]);
    expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('templates the CRD, the operator with least-privilege RBAC, the control plane and the router', async () => {
    const manifests = await template();
    const names = manifests.map((manifest) => `${manifest.kind}/${manifest.metadata.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'CustomResourceDefinition/tenants.shops.amn.gg',
        'Deployment/demo-operator',
        'ClusterRole/demo-operator',
        'Role/demo-operator',
        'Deployment/demo-control-plane',
        'Deployment/demo-router',
        'Service/demo-router',
      ]),
    );
    const byName = (kind: string, name: string) =>
      manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
    // The same rules the e2e suite runs the operator under.
    expect(byName('ClusterRole', 'demo-operator')?.rules).toEqual(
      JSON.parse(JSON.stringify(operatorClusterRules)),
    );
    expect(byName('Role', 'demo-operator')?.rules).toEqual(
      JSON.parse(JSON.stringify(operatorNamespaceRules)),
    );
  });

  it('runs every platform container as the restricted Pod Security profile demands', async () => {
    const deployments = (await template()).filter((manifest) => manifest.kind === 'Deployment');
    expect(deployments).toHaveLength(3);
    for (const deployment of deployments) {
      const pod = deployment.spec?.template?.spec;
      expect(pod?.securityContext, deployment.metadata.name).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const container of pod?.containers ?? []) {
        expect(container.securityContext, container.name).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
      }
    }
  });

  it('takes its values: replicas and images', async () => {
    const manifests = await template('operator.replicas=3', 'operator.image.tag=9.9.9');
    const operator = manifests.find(
      (manifest) => manifest.metadata.name === 'demo-operator' && manifest.kind === 'Deployment',
    );
    expect(operator?.spec).toMatchObject({ replicas: 3 });
    expect(JSON.stringify(operator)).toContain('amanat/operator:9.9.9');
  });

  it('gives the operator the data planes’ SMTP URL from a Secret only when one is named', async () => {
    const operatorEnv = async (...values: string[]) => {
      const operator = (await template(...values)).find(
        (manifest) => manifest.metadata.name === 'demo-operator' && manifest.kind === 'Deployment',
      ) as unknown as { spec: { template: { spec: { containers: { env: { name: string }[] }[] } } } };
      return operator.spec.template.spec.containers[0]?.env ?? [];
    };
    expect((await operatorEnv()).map((variable) => variable.name)).not.toContain('DATA_PLANE_SMTP_URL');
    expect(await operatorEnv('operator.dataPlaneSmtp.existingSecret=shop-mail')).toContainEqual({
      name: 'DATA_PLANE_SMTP_URL',
      valueFrom: { secretKeyRef: { name: 'shop-mail', key: 'smtp-url' } },
    });
  });
});
