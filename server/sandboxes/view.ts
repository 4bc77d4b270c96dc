import type { Sandbox } from './service.ts';
import type { SandboxView } from './views.ts';

/** A sandbox as the browser sees it: never a credential. `realNode`: the cluster's, if any. */
export function sandboxView(sandbox: Sandbox, realNode: string | null): SandboxView {
  return {
    namespace: sandbox.namespace,
    lesson: sandbox.lesson,
    size: sandbox.size,
    nodes: sandbox.nodes,
    realNode,
    group: sandbox.group,
    priorityClassPrefix: sandbox.priorityClassPrefix,
    createdAt: sandbox.createdAt,
    expiresAt: sandbox.expiresAt,
    state: sandbox.state,
  };
}
