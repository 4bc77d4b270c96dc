import type { Page, WebSocketRoute } from '@playwright/test';

/**
 * A socket.io packet as it crosses a websocket: engine.io's message type "4", then socket.io's
 * packet type (0 connect, 1 disconnect, 2 event, 3 ack, 4 connect error, 5 binary event, 6
 * binary ack), an attachment count for binary ones, the namespace ("/" unless named), an ack id
 * and the JSON payload: `42/terminal,5["attach",{…}]`.
 */
interface Packet {
  type: number;
  nsp: string;
  data: unknown;
}

export function parsePacket(frame: string): Packet | undefined {
  const match = /^4(\d)(?:\d+-)?(?:(\/[^,]*),)?\d*([\s\S]*)$/.exec(frame);
  if (!match) return undefined;
  let data: unknown;
  try {
    data = match[3] ? JSON.parse(match[3]) : undefined;
  } catch {
    data = match[3];
  }
  return { type: Number(match[1]), nsp: match[2] ?? '/', data };
}

/** One websocket of the page, proxied by the test. */
interface Connection {
  /** The page's side of the websocket, and the server's. */
  route: WebSocketRoute;
  server: WebSocketRoute;
  /** Namespaces the server accepted on it and nobody has left since. */
  namespaces: Set<string>;
  closed: boolean;
  /** Events the page sent: [namespace, event name, arguments]. */
  sent: [string, string, unknown[]][];
}

/**
 * Every socket.io websocket of a page, passed through a proxy the test can read and cut
 * (Playwright's routeWebSocket): which namespaces are open now, what events the page sent, and
 * a way to drop the connections as a network blip would. Install it before the page connects.
 */
export class SocketFrames {
  private readonly connections: Connection[] = [];

  static async watch(page: Page): Promise<SocketFrames> {
    const frames = new SocketFrames();
    await page.routeWebSocket(/\/socket\.io\//, (route) => {
      frames.proxy(route);
    });
    return frames;
  }

  /** How many connections to `nsp` are open now: accepted by the server, not left, not closed. */
  open(nsp: string): number {
    return this.connections.filter((c) => !c.closed && c.namespaces.has(nsp)).length;
  }

  /** The arguments of every `event` the page sent on `nsp`, oldest first. */
  sent(nsp: string, event: string): unknown[][] {
    return this.connections.flatMap((c) => c.sent.filter(([n, e]) => n === nsp && e === event).map(([, , args]) => args));
  }

  /** Cuts every open websocket of the page, as a dropped network would: socket.io reconnects. */
  drop(): void {
    for (const c of this.connections.filter((x) => !x.closed)) {
      c.closed = true;
      void c.route.close({ code: 4000, reason: 'dropped by the test' });
      void c.server.close();
    }
  }

  private proxy(route: WebSocketRoute): void {
    const server = route.connectToServer();
    const connection: Connection = { route, server, namespaces: new Set(), closed: false, sent: [] };
    this.connections.push(connection);
    route.onMessage((message) => {
      if (typeof message === 'string') {
        const packet = parsePacket(message);
        if (packet?.type === 1) connection.namespaces.delete(packet.nsp);
        if ((packet?.type === 2 || packet?.type === 5) && Array.isArray(packet.data)) {
          const [event, ...args] = packet.data as unknown[];
          if (typeof event === 'string') connection.sent.push([packet.nsp, event, args]);
        }
      }
      server.send(message);
    });
    server.onMessage((message) => {
      if (typeof message === 'string') {
        const packet = parsePacket(message);
        if (packet?.type === 0) connection.namespaces.add(packet.nsp);
        if (packet?.type === 1) connection.namespaces.delete(packet.nsp);
      }
      route.send(message);
    });
    route.onClose(() => {
      connection.closed = true;
      void server.close();
    });
    server.onClose(() => {
      connection.closed = true;
      void route.close();
    });
  }
}
