import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podsInMotion } from '../../../server/grading/kinds/pods-in-motion.ts';

const pod = (name: string, status: V1Pod['status'], extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({ metadata: { name, resourceVersion: '7', ...extra }, status });
const ready = [{ type: 'Ready', status: 'True' }];

describe('pods in motion (the operator check waits while they start)', () => {
  it('counts ready, finished and stuck Pods as settled', () => {
    const pods = [
      pod('web-0', { phase: 'Running', conditions: ready }),
      pod('job-x', { phase: 'Succeeded' }),
      pod('crash', { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] }),
      pod('nowhere', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] }),
      pod('no-image', { phase: 'Pending', containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }] }),
    ];
    expect(podsInMotion(pods)).toEqual({ fingerprint: 'crash:7,job-x:7,no-image:7,nowhere:7,web-0:7', starting: false });
  });

  it('counts pending, not yet ready and terminating Pods as still moving', () => {
    expect(podsInMotion([pod('db-0', { phase: 'Pending' })]).starting).toBe(true);
    expect(podsInMotion([pod('db-0', { phase: 'Pending', containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] })]).starting).toBe(true);
    expect(podsInMotion([pod('db-1', { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] })]).starting).toBe(true);
    expect(podsInMotion([pod('old', { phase: 'Running', conditions: ready }, { deletionTimestamp: new Date() })]).starting).toBe(true);
    expect(podsInMotion([]).starting).toBe(false);
  });
});
