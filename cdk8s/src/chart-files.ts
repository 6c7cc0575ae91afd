import { App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { operatorClusterRules, operatorNamespaceRules } from './operator-rbac.ts';
import { TenantCrd, TenantNamePolicy } from './tenant-crd.ts';

/** The platform's CustomResourceDefinitions as plain manifests. */
export function crdManifests(): Record<string, unknown>[] {
  const chart = new Chart(new App(), 'crds');
  new TenantCrd(chart, 'tenant');
  return chart.toJson();
}

const header = (source: string) =>
  `# Generated from cdk8s/src/${source} by \`npm run generate -w cdk8s\`. Do not edit by hand.\n`;
const yaml = (value: unknown) => stringify(value, { lineWidth: 0 });

/** Admission policies that go with the CRDs (installed as chart templates). */
export function policyManifests(): Record<string, unknown>[] {
  const chart = new Chart(new App(), 'policies');
  new TenantNamePolicy(chart, 'tenant-name');
  return chart.toJson();
}

/**
 * The Helm chart's generated files, by path inside `charts/amanat/`: the CRDs, and the
 * operator's RBAC rules its ClusterRole and Role templates include (PolicyRule's fields
 * have the same names in cdk8s and Kubernetes). CI fails when the committed files differ.
 */
export function generatedChartFiles(): Record<string, string> {
  return {
    'crds/tenants.shops.amn.gg.yaml': header('tenant-crd.ts') + crdManifests().map(yaml).join('---\n'),
    'templates/tenant-name-policy.yaml': header('tenant-crd.ts') + policyManifests().map(yaml).join('---\n'),
    'files/operator-cluster-rules.yaml': header('operator-rbac.ts') + yaml(operatorClusterRules),
    'files/operator-namespace-rules.yaml': header('operator-rbac.ts') + yaml(operatorNamespaceRules),
  };
}
