import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { crdManifests, generatedChartFiles } from './chart-files.ts';
import { CHART_DIR } from './generate.ts';

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/** Every property below `node`, as `path: schema`. */
function properties(node: SchemaNode, path = ''): [string, SchemaNode][] {
  const own = Object.entries(node.properties ?? {}).flatMap(([name, child]) => {
    const childPath = `${path}.${name}`;
    return [[childPath, child] as [string, SchemaNode], ...properties(child, childPath)];
  });
  return node.items ? [...own, ...properties(node.items, `${path}[]`)] : own;
}

const tenantSchema = () => {
  const [crd] = crdManifests() as { spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] } }[];
  return crd?.spec.versions[0]?.schema.openAPIV3Schema as SchemaNode;
};

describe('the Tenant CRD', () => {
  it('the Helm chart holds exactly what cdk8s generates (run `npm run generate -w cdk8s` after a change)', async () => {
    for (const [path, content] of Object.entries(generatedChartFiles())) {
      expect(await readFile(new URL(path, CHART_DIR), 'utf8'), path).toBe(content);
    }
  });

  it('describes every field, so `kubectl explain tenant.spec` is useful', () => {
    const fields = properties(tenantSchema());
    expect(fields.length).toBeGreaterThan(30);
    const undocumented = fields.filter(([, schema]) => !schema.description?.trim()).map(([path]) => path);
    expect(undocumented).toEqual([]);
  });

  it('serialises CEL rules and list semantics under their Kubernetes names', () => {
    const yaml = generatedChartFiles()['crds/tenants.shops.amn.gg.yaml'];
    expect(yaml).toContain('x-kubernetes-validations:');
    expect(yaml).toContain('x-kubernetes-list-type: map');
    expect(yaml).toContain('openAPIV3Schema:');
    expect(yaml).not.toMatch(/xKubernetes|openApiv3Schema/);
  });
});
