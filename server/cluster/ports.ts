import net from 'node:net';

const HOST = '127.0.0.1';

/** Whether nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen({ port, host: HOST, exclusive: true }, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** A port the kernel says is free now. There is a short race until the component binds it;
 * components that then fail to bind are reported with their log and retried by `up`. */
export function freePort(avoid: ReadonlySet<number> = new Set()): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') {
          reject(new Error('could not read the bound port'));
          return;
        }
        if (avoid.has(address.port)) {
          freePort(avoid).then(resolve, reject);
          return;
        }
        resolve(address.port);
      });
    });
  });
}
