import net from 'node:net';

/**
 * Whether the real node can pull images: one TCP connection to Docker Hub's registry (name
 * lookup included), a few seconds at most. Offline, the scheduler keeps Pods whose images the
 * node lacks on the simulated nodes instead of letting them fail to pull.
 */
export function probeRegistry(host = 'registry-1.docker.io', timeoutMs = 3000): Promise<'online' | 'offline'> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: 443 });
    const done = (result: 'online' | 'offline') => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => {
      done('offline');
    });
    socket.once('connect', () => {
      done('online');
    });
    socket.once('error', () => {
      done('offline');
    });
  });
}
