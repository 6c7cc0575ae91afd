/** A kubeconfig with one cluster, one client-certificate user and one context, as JSON (valid YAML). */
export function kubeconfigDocument(options: {
  server: string;
  certificateAuthority: string;
  clientCertificate: string;
  clientKey: string;
  user: string;
}): string {
  const base64 = (pem: string) => Buffer.from(pem).toString('base64');
  const name = 'amanat-e2e';
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name,
          cluster: {
            server: options.server,
            'certificate-authority-data': base64(options.certificateAuthority),
          },
        },
      ],
      users: [
        {
          name: options.user,
          user: {
            'client-certificate-data': base64(options.clientCertificate),
            'client-key-data': base64(options.clientKey),
          },
        },
      ],
      contexts: [{ name, context: { cluster: name, user: options.user } }],
      'current-context': name,
    },
    null,
    2,
  )}\n`;
}
