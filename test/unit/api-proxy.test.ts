import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApiProxy } from '../../server/terminal/api-proxy.ts';

/**
 * The jail's API proxy with a real Unix socket and a real TCP "API server" that, like the real
 * one, keeps its side of a connection open until told otherwise.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function upstream(): Promise<{ port: number; ended: () => number; received: () => string }> {
  const sockets = new Set<net.Socket>();
  let received = '';
  let ended = 0;
  // allowHalfOpen: the proxy's end does not end this side, as with a server keeping a connection
  // alive (the case that left the jail's side open for ever).
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      socket.write(`echo:${chunk.toString('utf8')}`);
    });
    socket.on('end', () => (ended += 1));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as net.AddressInfo).port, ended: () => ended, received: () => received };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5000; !condition(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the jail API proxy', () => {
  it('joins a connection to the API server, and closes both sides when the jail side goes', async () => {
    const api = await upstream();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-proxy-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const proxy = await startApiProxy(path.join(dir, 'api.sock'), { host: '127.0.0.1', port: api.port });
    cleanups.push(() => proxy.close());
    expect((await fs.stat(path.join(dir, 'api.sock'))).mode & 0o777).toBe(0o666);

    const client = net.connect(path.join(dir, 'api.sock'));
    let reply = '';
    client.on('data', (chunk: Buffer) => (reply += chunk.toString('utf8')));
    client.write('GET /version');
    await until(() => reply === 'echo:GET /version', 'the reply');
    expect(api.received()).toBe('GET /version');
    expect(proxy.open).toBe(1);

    // A killed kubectl: its side ends. The API server keeps its side open; the proxy closes both.
    client.end();
    await until(() => api.ended() === 1, 'the proxy to close its side towards the API server');
    await until(() => proxy.open === 0, 'the jail side to close');
  });

  it('closes at once with connections still open', async () => {
    const api = await upstream();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kubedojo-proxy-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const proxy = await startApiProxy(path.join(dir, 'api.sock'), { host: '127.0.0.1', port: api.port });
    const clients = [net.connect(path.join(dir, 'api.sock')), net.connect(path.join(dir, 'api.sock'))];
    for (const client of clients) {
      client.on('error', () => undefined);
      client.write('watch');
    }
    await until(() => proxy.open === 2 && api.received() === 'watchwatch', 'two connections');
    const started = Date.now();
    await proxy.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(proxy.open).toBe(0);
    await until(() => api.ended() === 2, 'the API server sides to be closed');
    for (const client of clients) client.destroy();
  });
});
