import { Conflict } from '../errors.ts';
import { portNames, type ComponentId, type PortName, type Ports } from './components.ts';
import { freePort, isPortFree } from './ports.ts';
import { isAlive } from './process.ts';
import type { State } from './state.ts';

/** Which component owns each port: a port held by our own live component is not "busy". */
const portOwner: Record<PortName, ComponentId> = {
  etcd: 'etcd',
  etcdPeer: 'etcd',
  etcdMetrics: 'etcd',
  apiserver: 'kube-apiserver',
  controllerManager: 'kube-controller-manager',
  scheduler: 'kube-scheduler',
  kwok: 'kwok',
  metricsServer: 'metrics-server',
};

/** Keeps last time's ports while they are free (so kubeconfigs stay valid), else picks new ones. */
export async function resolvePorts(state: State, apiPort: number, notes: string[]): Promise<Ports> {
  const chosen: Partial<Ports> = {};
  const used = new Set<number>();
  for (const name of portNames) {
    const explicit = name === 'apiserver' && apiPort > 0 ? apiPort : undefined;
    const previous = state.ports?.[name];
    const wanted = explicit ?? previous;
    if (wanted !== undefined && !used.has(wanted)) {
      const owner = state.processes[portOwner[name]];
      const ownedByUs = owner !== undefined && (await isAlive(owner)) && previous === wanted;
      if (ownedByUs || (await isPortFree(wanted))) {
        chosen[name] = wanted;
        used.add(wanted);
        continue;
      }
      if (explicit !== undefined) {
        throw new Conflict(
          `Port ${explicit} on 127.0.0.1 is already in use by another program, so the API server cannot listen there. ` +
            'Choose another with --api-port (or KUBEDOJO_API_PORT), or leave it out to pick a free port.',
        );
      }
      notes.push(`port ${wanted} (${name}) is now used by another program; moved to a free port`);
    }
    const port = await freePort(used);
    chosen[name] = port;
    used.add(port);
  }
  return chosen as Ports;
}
