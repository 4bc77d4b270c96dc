import { randomBytes } from 'node:crypto';
import type { KubernetesObject, V1CustomResourceDefinition } from '@kubernetes/client-node';
import { summarizeMismatches, expectedSide, foundSide, partialMatch } from '../match.ts';
import type { CheckEvaluator, Outcome } from '../types.ts';
import { apiOutcome } from './common.ts';

const CRD = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };

/**
 * `crd`: the learner's CustomResourceDefinition is established with the asked names, scope and
 * versions, and its schema behaves: every `valid` sample is accepted and every `invalid` one
 * rejected by a server-side dry run, so any correct schema passes however it is written
 * (OpenAPI keywords or CEL rules, inline or split), and a schema that lets a string through
 * where an integer belongs fails.
 */
export const crdCheck: CheckEvaluator<'crd'> = async (check, ctx) => {
  const found = await ctx.scope.get<V1CustomResourceDefinition & KubernetesObject>(CRD, check.crd);
  if (!found.ok) return apiOutcome(found.error, `CustomResourceDefinition ${check.crd}`);
  const crd = found.value;
  if (crd === null) {
    return {
      status: 'failed',
      message: `CustomResourceDefinition ${check.crd} was not found`,
      expected: `a CRD named ${check.crd} (<plural>.<group>)`,
      found: 'no CRD by that name in your group',
      settled: true,
    };
  }
  const established = crd.status?.conditions?.find((c) => c.type === 'Established');
  if (established?.status !== 'True') {
    const names = crd.status?.conditions?.find((c) => c.type === 'NamesAccepted');
    const why = names?.status === 'False' ? names.message : established?.message;
    return { status: 'failed', message: `CRD ${check.crd} is not established yet${why ? `: ${why}` : ''}`, settled: names?.status === 'False' };
  }

  const expected: Record<string, unknown> = {};
  if (check.group !== undefined) expected.group = check.group;
  if (check.names !== undefined) expected.names = check.names;
  if (check.scope !== undefined) expected.scope = check.scope;
  if (check.versions !== undefined) expected.versions = check.versions;
  const mismatches = partialMatch(expected, crd.spec, 'spec');
  if (mismatches.length > 0) {
    return { status: 'failed', message: `CRD ${check.crd}: ${summarizeMismatches(mismatches)}`, expected: expectedSide(mismatches), found: foundSide(mismatches), settled: true };
  }

  const namespaced = crd.spec.scope === 'Namespaced';
  const plural = crd.spec.names.plural;
  const dryRun = async (object: KubernetesObject, attempt = 0): Promise<{ accepted: true } | { accepted: false; reason: 'invalid' | 'other'; message: string }> => {
    const [group = '', version = ''] = (object.apiVersion ?? '').split('/');
    if (group !== crd.spec.group) return { accepted: false, reason: 'other', message: `the sample's apiVersion ${object.apiVersion ?? ''} is not in group ${crd.spec.group}` };
    const result = await ctx.scope.dryRunCreate(object, ctx.scope.resourcePath(group, version, plural, namespaced));
    if (result.ok) return { accepted: true };
    // A learner's own object of the same name must not make a sample look rejected.
    if (result.error.reason === 'AlreadyExists' && attempt === 0) {
      const metadata = (object.metadata ?? {}) as Record<string, unknown>;
      const renamed = { ...object, metadata: { ...metadata, name: `${object.metadata?.name ?? 'sample'}-${randomBytes(3).toString('hex')}` } };
      return dryRun(renamed, 1);
    }
    return { accepted: false, reason: result.error.kind === 'invalid' ? 'invalid' : 'other', message: result.error.message };
  };

  const valid = await Promise.all((check.valid ?? []).map(async (object) => ({ object, result: await dryRun(object) })));
  for (const { object, result } of valid) {
    if (!result.accepted) {
      const served = result.reason === 'other';
      return {
        status: 'failed',
        message: `a valid ${crd.spec.names.kind} ("${object.metadata.name}") was rejected: ${result.message}`,
        expected: `accepted: ${JSON.stringify((object as { spec?: unknown }).spec ?? {})}`,
        found: `rejected: ${result.message}`,
        settled: !served,
      };
    }
  }
  const invalid = await Promise.all((check.invalid ?? []).map(async (sample) => ({ sample, result: await dryRun(sample.object) })));
  for (const { sample, result } of invalid) {
    if (result.accepted) {
      return {
        status: 'failed',
        message: `an invalid ${crd.spec.names.kind} was accepted, but ${sample.because}`,
        expected: `rejected: ${JSON.stringify((sample.object as { spec?: unknown }).spec ?? {})}`,
        found: 'accepted by the schema',
        settled: true,
      };
    }
    if (result.reason !== 'invalid') {
      return { status: 'failed', message: `could not test an invalid ${crd.spec.names.kind} ("${sample.object.metadata.name}"): ${result.message}`, settled: false } satisfies Outcome;
    }
  }
  // Said of what was tested: "accepts all 3 valid samples and rejects all 4 invalid ones".
  const parts = [
    valid.length === 1 ? 'accepts the valid sample' : valid.length > 1 ? `accepts all ${valid.length} valid samples` : '',
    invalid.length === 1 ? 'rejects the invalid one' : invalid.length > 1 ? `rejects all ${invalid.length} invalid ones` : '',
  ].filter(Boolean);
  return { status: 'passed', message: `CRD ${check.crd} is established${parts.length > 0 ? `, and the API server ${parts.join(' and ')}` : ''}` };
};
