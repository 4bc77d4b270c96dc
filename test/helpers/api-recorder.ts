import { generateKeyPair } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { issueCertificate } from '../../server/cluster/certificates.ts';

/**
 * A transparent TLS proxy in front of the API server that remembers every refusal (401, 403)
 * it passes back, with the request that got it. Clients keep their own credentials (the proxy
 * forwards Authorization as it came); streams, watches and websocket upgrades (exec) pass
 * through. A test points a kubeconfig at it to prove a credential lacks nothing it uses.
 */

export interface Refusal {
  method: string;
  path: string;
  status: number;
  message: string;
}

export interface ApiRecorder {
  /** https://127.0.0.1:<port> */
  url: string;
  /** PEM of the proxy's own certificate authority, for the kubeconfig. */
  caData: string;
  refusals: Refusal[];
  /** Requests seen, by "METHOD path-without-query", for the test's report. */
  requests: number;
  close(): Promise<void>;
}

/** The proxy's certificate: a CA that signs only itself, for 127.0.0.1 (as the object-limits webhook's). */
async function selfSigned(): Promise<{ key: string; cert: string }> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const cert = await issueCertificate({ cn: 'kubedojo api recorder', keys: { privatePem: privateKey, publicPem: publicKey }, ca: true, usage: 'server', names: { dns: [], ip: ['127.0.0.1'] }, days: 1 });
  return { key: privateKey, cert };
}

export async function startApiRecorder(upstream: { server: string; caData: string }): Promise<ApiRecorder> {
  const target = new URL(upstream.server);
  const { key, cert } = await selfSigned();
  const refusals: Refusal[] = [];
  let requests = 0;
  // Upgraded connections leave the HTTP server's bookkeeping: closed here by hand.
  const upgraded = new Set<Duplex>();
  const record = (method: string, url: string, status: number, body: string) => {
    if (status !== 401 && status !== 403) return;
    let message = body.slice(0, 400);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not a Status: keep the text
    }
    refusals.push({ method, path: url, status, message });
  };

  const server = https.createServer({ key, cert }, (req, res) => {
    requests += 1;
    const upstreamReq = https.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, ca: upstream.caData },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        const status = upstreamRes.statusCode ?? 502;
        if (status === 401 || status === 403) {
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (c: Buffer) => chunks.push(c));
          upstreamRes.on('end', () => {
            record(req.method ?? '', req.url ?? '', status, Buffer.concat(chunks).toString('utf8'));
          });
        }
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', (error) => {
      res.writeHead(502).end(error.message);
    });
    req.pipe(upstreamReq);
  });

  // Websocket upgrades (exec, attach, port-forward): replay the request upstream and splice the sockets.
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    requests += 1;
    upgraded.add(socket);
    const out = tls.connect({ host: target.hostname, port: Number(target.port), ca: upstream.caData, servername: target.hostname === '127.0.0.1' ? undefined : target.hostname }, () => {
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i] ?? '';
        lines.push(`${name}: ${name.toLowerCase() === 'host' ? target.host : (req.rawHeaders[i + 1] ?? '')}`);
      }
      out.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) out.write(head);
      let first = true;
      out.on('data', (chunk: Buffer) => {
        if (first) {
          first = false;
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 0);
          record(req.method ?? 'GET', req.url ?? '', status, chunk.toString('utf8').split('\r\n\r\n').slice(1).join(''));
        }
      });
      out.pipe(socket);
      socket.pipe(out);
    });
    const end = () => {
      upgraded.delete(socket);
      out.destroy();
      socket.destroy();
    };
    out.on('error', end);
    socket.on('error', end);
    out.on('close', end);
    socket.on('close', end);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caData: cert,
    refusals,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of upgraded) socket.destroy();
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
