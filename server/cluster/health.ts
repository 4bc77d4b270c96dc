import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { HealthCheck } from './components.ts';

export type HealthResult = { healthy: true } | { healthy: false; reason: string };

/** One GET of a component's health endpoint, with a short timeout. */
export async function probe(check: HealthCheck, timeoutMs = 1000): Promise<HealthResult> {
  const url = new URL(check.url);
  const tls =
    url.protocol === 'https:'
      ? {
          ...(check.ca ? { ca: await fs.readFile(check.ca) } : {}),
          ...(check.clientCert ? { cert: await fs.readFile(check.clientCert.cert), key: await fs.readFile(check.clientCert.key) } : {}),
        }
      : {};
  return new Promise((resolve) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      { method: 'GET', timeout: timeoutMs, ...tls, agent: false },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < 4096) body += chunk;
        });
        response.on('end', () => {
          if (response.statusCode === 200) resolve({ healthy: true });
          else resolve({ healthy: false, reason: `HTTP ${response.statusCode ?? '?'}: ${body.trim().split('\n').slice(-3).join(' ').slice(0, 300)}` });
        });
      },
    );
    request.on('timeout', () => {
      request.destroy(new Error(`no answer within ${timeoutMs} ms`));
    });
    request.on('error', (error) => {
      resolve({ healthy: false, reason: error.message });
    });
    request.end();
  });
}
