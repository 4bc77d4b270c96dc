import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { HealthCheck } from './components.ts';

export type HealthResult = { healthy: true } | { healthy: false; reason: string };

/** A connection that opens: health enough for a socket proxy or a runtime without HTTP health. */
function connects(url: URL, timeoutMs: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    const socket = url.protocol === 'unix:' ? net.connect({ path: decodeURIComponent(url.pathname) }) : net.connect({ host: url.hostname, port: Number(url.port) });
    const done = (result: HealthResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => {
      done({ healthy: false, reason: `no connection within ${timeoutMs} ms` });
    });
    socket.once('connect', () => {
      done({ healthy: true });
    });
    socket.once('error', (error) => {
      done({ healthy: false, reason: error.message });
    });
  });
}

/**
 * One GET of a component's health endpoint, with a short timeout; for unix: and tcp: URLs, a
 * connection that opens.
 */
export async function probe(check: HealthCheck, timeoutMs = 1000): Promise<HealthResult> {
  const url = new URL(check.url);
  if (url.protocol === 'unix:' || url.protocol === 'tcp:') return connects(url, timeoutMs);
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
