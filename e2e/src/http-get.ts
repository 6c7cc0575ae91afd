import { request } from 'node:https';

export interface HttpsGetOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** For components that serve a self-signed certificate only they know (health checks). */
  insecure?: boolean;
  timeoutMs?: number;
}

/**
 * GET over HTTPS with client-certificate and CA options, which `fetch` cannot take without
 * an undici dispatcher; failures to connect resolve as status 0 so pollers can retry.
 */
export function httpsGet(
  url: string,
  options: HttpsGetOptions = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: !options.insecure,
        timeout: options.timeoutMs ?? 2000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: error.message }));
    req.end();
  });
}
