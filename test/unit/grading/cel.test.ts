import { describe, expect, it } from 'vitest';
import { compileError, evaluateRule } from '../../../server/checks/cel.ts';

const object = { metadata: { name: 'web', labels: { app: 'web' } }, spec: { replicas: 3, ratio: 0.5, containers: [{ name: 'a', resources: { requests: { cpu: '50m' } } }] } };

describe('CEL rules', () => {
  it('binds JSON integers as int, as Kubernetes does', () => {
    expect(evaluateRule('object.spec.replicas + 1 == 4', { object })).toEqual({ ok: true, value: true });
    expect(evaluateRule('object.spec.ratio * 2.0 == 1.0', { object })).toEqual({ ok: true, value: true });
    expect(evaluateRule('size(object.spec.containers) == 1', { object })).toEqual({ ok: true, value: true });
  });

  it('supports the macros and string functions labs use', () => {
    expect(evaluateRule("object.spec.containers.all(c, has(c.resources.requests) && 'cpu' in c.resources.requests)", { object })).toEqual({ ok: true, value: true });
    expect(evaluateRule("object.metadata.name.startsWith('we') && object.metadata.labels.exists(k, k == 'app')", { object })).toEqual({ ok: true, value: true });
    expect(evaluateRule("[0, '0%'].exists(v, v == 0)", {})).toEqual({ ok: true, value: true });
  });

  it('reports errors as results: a missing field, a type mismatch, a result that is not a bool', () => {
    const missing = evaluateRule('object.spec.missing == 1', { object });
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.error).toMatch(/missing/);
    expect(evaluateRule("object.metadata.name + 1 == 'x'", { object }).ok).toBe(false);
    expect(evaluateRule('object.spec.replicas', { object })).toEqual({ ok: false, error: 'must evaluate to true or false, but gave 3' });
  });

  it('says where an expression does not compile', () => {
    expect(compileError('object.spec.replicas ==')).toMatch(/^at 1:\d+/);
    expect(compileError('object.spec.replicas == 3')).toBeUndefined();
    expect(evaluateRule('(((', {})).toMatchObject({ ok: false, error: expect.stringMatching(/^does not compile/) as unknown });
  });
});
