import fs from 'node:fs/promises';
import net from 'node:net';

/**
 * The jail's only way out: a Unix socket inside it (socat in the jail turns it back into the API
 * server's port on the jail's loopback) whose every connection the platform pipes to the real
 * API server.
 */

/** The local API server a learner kubeconfig names; the jail reaches nothing else. */
export function apiServerOf(kubeconfigText: string): { host: string; port: number } {
  const match = /server:\s*(https?:\/\/[^\s]+)/.exec(kubeconfigText);
  if (!match?.[1]) throw new Error('the learner kubeconfig names no server');
  const url = new URL(match[1]);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new Error(`the jailed terminal needs the embedded cluster's local API server, not ${url.hostname}`);
  }
  return { host: '127.0.0.1', port: Number(url.port || 443) };
}

/** Serves the jail's Unix socket by connecting each connection to the real API server. */
export async function startApiProxy(socket: string, target: { host: string; port: number }): Promise<net.Server> {
  await fs.rm(socket, { force: true });
  const server = net.createServer((inner) => {
    const outer = net.connect(target.port, target.host);
    inner.pipe(outer).pipe(inner);
    const end = () => {
      inner.destroy();
      outer.destroy();
    };
    inner.on('error', end);
    outer.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      resolve();
    });
  });
  await fs.chmod(socket, 0o666);
  return server;
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}
