import type { SandboxView } from '../../server/protocol.ts';
import { startTestServer, type TestServer } from './app.ts';
import { browser, type Browser } from './http.ts';
import { TerminalClient } from './terminal.ts';

/**
 * A server whose terminals use one backend — the bubblewrap jail on this machine, or a toolbox
 * Pod on the real node — and learners with their sandboxes, for suites that run against both.
 */

export type Backend = 'jail' | 'pod';
export const BACKENDS: readonly Backend[] = ['jail', 'pod'];

export interface Learner {
  cookie: string;
  send: Browser;
  sandbox: SandboxView;
}

export interface TerminalEnv {
  backend: Backend;
  server: TestServer;
  learner(lesson?: string): Promise<Learner>;
  terminal(who: Learner, options?: { autoAck?: boolean }): Promise<TerminalClient>;
}

export async function terminalEnv(kubeconfig: string, backend: Backend): Promise<TerminalEnv> {
  const server = await startTestServer({ kubeconfig, terminalBackend: backend, terminalGrace: 30 });
  return {
    backend,
    server,
    async learner(lesson = 'advanced-kubernetes-patterns') {
      const send = browser(() => server.url);
      const response = await send('POST', '/api/sandboxes', { lesson });
      if (response.status !== 201 && response.status !== 200) throw new Error(`could not make a sandbox: ${response.status} ${JSON.stringify(response.json)}`);
      return { cookie: send.cookie(), send, sandbox: response.json as SandboxView };
    },
    async terminal(who, options = {}) {
      const client = new TerminalClient(server.url, who.cookie, options);
      const reply = await client.attach(who.sandbox.namespace);
      if (!reply.ok) throw new Error(reply.error);
      // The toolbox Pod may take a moment to start: the first command waits for the prompt.
      await client.run('true', 120_000);
      return client;
    },
  };
}
