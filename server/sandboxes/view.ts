import type { SandboxView } from '../protocol.ts';
import type { Sandbox } from './service.ts';

/** A sandbox as the browser sees it: never a credential. */
export function sandboxView(sandbox: Sandbox): SandboxView {
  return {
    namespace: sandbox.namespace,
    lesson: sandbox.lesson,
    size: sandbox.size,
    group: sandbox.group,
    priorityClassPrefix: sandbox.priorityClassPrefix,
    createdAt: sandbox.createdAt,
    expiresAt: sandbox.expiresAt,
    state: sandbox.state,
  };
}
