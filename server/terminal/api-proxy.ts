import fs from 'node:fs/promises';
import net from 'node:net';

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

/**
 * The jail's only way out: a Unix socket inside it whose every connection is joined to the real
 * API server. kubectl and the API server speak TLS and never half-close a connection on purpose,
 * so when either side ends, both are closed: a killed shell's kubectl (an `exec -it`, a watch)
 * must not leave the API server's side open, where it would hold the socket, and closing the
 * proxy, for ever.
 */
export interface ApiProxy {
  /** Connections open now (for tests). */
  readonly open: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

export async function startApiProxy(socket: string, target: { host: string; port: number }): Promise<ApiProxy> {
  await fs.rm(socket, { force: true });
  /** Each open connection, by the function that closes both its sides. */
  const connections = new Set<() => void>();
  const server = net.createServer((inner) => {
    const outer = net.connect(target.port, target.host);
    inner.pipe(outer).pipe(inner);
    const end = () => {
      connections.delete(end);
      inner.destroy();
      outer.destroy();
    };
    connections.add(end);
    for (const side of [inner, outer]) {
      side.on('error', end);
      side.on('end', end);
      side.on('close', end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      resolve();
    });
  });
  await fs.chmod(socket, 0o666);
  return {
    get open() {
      return connections.size;
    },
    async close() {
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      for (const end of [...connections]) end();
      await closed;
    },
  };
}
