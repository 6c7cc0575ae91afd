import { describe, expect, it } from 'vitest';
import type { Tenant } from './tenant-crd.ts';
import {
  LABELS,
  OPERATOR_NAME,
  PROVISIONER_COMMAND,
  tenantBackupObject,
  tenantDataPlaneObjects,
} from './tenant-objects.ts';

const tenant: Tenant = {
  apiVersion: 'shops.amn.gg/v1alpha1',
  kind: 'Tenant',
  metadata: { name: 'saras-shop' },
  spec: {
    tenantId: '5f0c3c2e-8a4b-4c8e-9d57-0b6f1c2a9e11',
    slug: 'saras-shop',
    displayName: 'Sara Goods',
    tier: 'white_label',
    isolation: { mode: 'schema' },
    dataPlane: { version: '1.4.2', replicas: 3, resources: { limits: { memory: '300Mi' } } },
    hosts: ['saras-shop.shops.example', 'shop.sara.example'],
  },
};

const SECRET_VALUE = 'postgres://t_5f0c_app:very-secret-password@10.0.0.5:5432/shops_schemas';

const objects = (smtpPort?: number) =>
  tenantDataPlaneObjects({
    tenant,
    platform: {
      routerNamespace: 'amanat-system',
      routerPodLabels: { 'app.kubernetes.io/component': 'router' },
      database: { cidrs: ['10.0.0.5/32'], port: 5432 },
      smtpPort,
    },
    secretData: { DATABASE_URL: SECRET_VALUE, PAYMENT_EVIDENCE_SECRET: 'x'.repeat(40) },
    environment: { TENANT_ID: tenant.spec.tenantId, PUBLIC_HOSTS: tenant.spec.hosts.join(',') },
  }) as {
    kind: string;
    metadata: { name: string; namespace?: string; labels: Record<string, string> };
    spec?: Record<string, unknown>;
  }[];

const find = (kind: string, name?: string) => {
  const found = objects().find((object) => object.kind === kind && (!name || object.metadata.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ''}`);
  return found;
};

describe('one tenant’s data-plane objects', () => {
  it('come in apply order, all in the tenant’s namespace and labelled with their owner', () => {
    const all = objects();
    expect(all.map((object) => object.kind)).toEqual([
      'Namespace',
      'ResourceQuota',
      'LimitRange',
      'NetworkPolicy',
      'NetworkPolicy',
      'NetworkPolicy',
      'ServiceAccount',
      'Secret',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
    ]);
    for (const object of all) {
      expect(object.metadata.labels[LABELS.managedBy]).toBe(OPERATOR_NAME);
      expect(object.metadata.labels[LABELS.tenant]).toBe(tenant.spec.tenantId);
      if (object.kind !== 'Namespace') expect(object.metadata.namespace).toBe('shop-saras-shop');
    }
    expect(find('Namespace').metadata).toMatchObject({
      name: 'shop-saras-shop',
      labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
    });
  });

  it('keep credentials in the Secret only', () => {
    const outsideSecret = objects().filter((object) => object.kind !== 'Secret');
    expect(JSON.stringify(outsideSecret)).not.toContain('very-secret-password');
    expect(JSON.stringify(find('Secret'))).toContain('very-secret-password');
  });

  it('run the data plane as the restricted Pod Security profile demands, with probes and the tier’s resources', () => {
    const deployment = find('Deployment') as unknown as {
      spec: {
        replicas: number;
        template: { spec: Record<string, never> & { containers: Record<string, never>[] } };
      };
    };
    expect(deployment.spec.replicas).toBe(3);
    const pod = deployment.spec.template.spec;
    expect(pod).toMatchObject({
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    });
    const [container] = pod.containers;
    expect(container).toMatchObject({
      image: 'amanat/data-plane:1.4.2',
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      },
      readinessProbe: { httpGet: { path: '/readyz' } },
      livenessProbe: { httpGet: { path: '/healthz' } },
      resources: { limits: { memory: '300Mi', cpu: '1' }, requests: { cpu: '100m', memory: '160Mi' } },
      envFrom: [{ secretRef: { name: 'data-plane' } }],
    });
    expect(container?.env).toEqual(
      expect.arrayContaining([
        { name: 'TENANT_ID', value: tenant.spec.tenantId },
        { name: 'HOST', value: '0.0.0.0' },
        { name: 'PORT', value: '8080' },
      ]),
    );
  });

  it('deny all traffic but the router’s, DNS, the database and HTTPS', () => {
    const deny = find('NetworkPolicy', 'default-deny') as unknown as { spec: unknown };
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const egress = find('NetworkPolicy', 'egress-dns-database-https') as unknown as {
      spec: { egress: { to?: unknown[]; ports: { port: number }[] }[] };
    };
    expect(egress.spec.egress.map((rule) => rule.ports.map((port) => port.port))).toEqual([
      [53, 53],
      [5432],
      [443],
    ]);
    expect(egress.spec.egress[1]?.to).toEqual([{ ipBlock: { cidr: '10.0.0.5/32' } }]);
  });

  it('let email out on the SMTP server’s port when the platform has one', () => {
    const egress = objects(587).find(
      (object) => object.kind === 'NetworkPolicy' && object.metadata.name === 'egress-dns-database-https',
    ) as unknown as { spec: { egress: { ports: { port: number }[] }[] } };
    expect(egress.spec.egress.map((rule) => rule.ports.map((port) => port.port))).toEqual([
      [53, 53],
      [5432],
      [443],
      [587],
    ]);
  });

  it('roll the pods when a credential rotates', () => {
    const annotation = (secret: string) => {
      const [deployment] = tenantDataPlaneObjects({
        tenant,
        platform: {
          routerNamespace: 'r',
          routerPodLabels: {},
          database: { cidrs: ['10.0.0.5/32'], port: 5432 },
        },
        secretData: { DATABASE_URL: secret },
        environment: {},
      }).filter((object) => object.kind === 'Deployment') as {
        spec: { template: { metadata: { annotations: Record<string, string> } } };
      }[];
      return deployment?.spec.template.metadata.annotations['shops.amn.gg/secret-version'];
    };
    expect(annotation('a')).toBe(annotation('a'));
    expect(annotation('a')).not.toBe(annotation('b'));
  });

  it('take their image from the given repository, tagged with the tenant’s version', () => {
    const [deployment] = tenantDataPlaneObjects({
      tenant,
      platform: {
        routerNamespace: 'r',
        routerPodLabels: {},
        database: { cidrs: ['10.0.0.5/32'], port: 5432 },
      },
      imageRepository: 'registry.example/amanat/data-plane',
      secretData: {},
      environment: {},
    }).filter((object) => object.kind === 'Deployment');
    expect(JSON.stringify(deployment)).toContain('"image":"registry.example/amanat/data-plane:1.4.2"');
  });
});

describe('one tenant’s backup schedule', () => {
  const cronJob = (schedule?: string) =>
    tenantBackupObject({
      tenant: { ...tenant, spec: { ...tenant.spec, ...(schedule ? { backup: { schedule } } : {}) } },
      namespace: 'amanat-system',
      provisionerSecret: 'amanat-provisioner',
      backupStoreUrl: 's3://backups/tenants',
    }) as {
      kind: string;
      metadata: { name: string; namespace: string; labels: Record<string, string> };
      spec: {
        schedule: string;
        concurrencyPolicy: string;
        jobTemplate: { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
      };
    };

  it('is a CronJob in the operator’s namespace, labelled with its tenant, on the tenant’s schedule', () => {
    const job = cronJob('5 1 * * *');
    expect(job).toMatchObject({
      kind: 'CronJob',
      metadata: {
        name: 'backup-saras-shop',
        namespace: 'amanat-system',
        labels: { [LABELS.managedBy]: OPERATOR_NAME, [LABELS.tenant]: tenant.spec.tenantId },
      },
      spec: { schedule: '5 1 * * *', concurrencyPolicy: 'Forbid' },
    });
    expect(cronJob().spec.schedule).toBe('17 3 * * *');
  });

  it('runs the provisioner’s backup with the provisioner Secret, never inside the tenant’s namespace', () => {
    const [container] = cronJob().spec.jobTemplate.spec.template.spec.containers;
    expect(container).toMatchObject({
      image: 'amanat/data-plane:1.4.2',
      command: [...PROVISIONER_COMMAND, 'backup', '--tenant', tenant.spec.tenantId],
      envFrom: [{ secretRef: { name: 'amanat-provisioner' } }],
      env: [{ name: 'BACKUP_STORE_URL', value: 's3://backups/tenants' }],
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
  });
});
