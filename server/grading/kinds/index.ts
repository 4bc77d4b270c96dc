import type { CheckKind } from '../../vocabulary.ts';
import type { CheckEvaluator } from '../types.ts';
import { autoscalerCheck } from './autoscaler.ts';
import { crdCheck } from './crd.ts';
import { networkPolicyCheck } from './networkpolicy.ts';
import { operatorCheck } from './operator.ts';
import { celCheck, resourceCheck } from './resource.ts';
import { resourcesCheck } from './resources.ts';
import { rolloutCheck } from './rollout.ts';
import { schedulingCheck } from './scheduling.ts';

/** One evaluator per check kind; the lab schema (../schema.ts) lists the same kinds. */
export const evaluators: { [K in CheckKind]: CheckEvaluator<K> } = {
  resource: resourceCheck,
  cel: celCheck,
  crd: crdCheck,
  operator: operatorCheck,
  scheduling: schedulingCheck,
  autoscaler: autoscalerCheck,
  resources: resourcesCheck,
  networkpolicy: networkPolicyCheck,
  rollout: rolloutCheck,
};
