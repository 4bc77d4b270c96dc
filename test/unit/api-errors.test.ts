import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { call, firstError, toApiError } from '../../server/cluster/api.ts';

describe('Kubernetes API failures as typed results', () => {
  it("keeps the API's own message and reason", () => {
    const body = JSON.stringify({ kind: 'Status', message: 'pods "x" is forbidden: exceeded quota: small', reason: 'Forbidden', code: 403 });
    expect(toApiError(new ApiException(403, 'Forbidden', body, {}))).toEqual({
      kind: 'forbidden',
      status: 403,
      message: 'pods "x" is forbidden: exceeded quota: small',
      reason: 'Forbidden',
    });
    expect(toApiError(new ApiException(409, 'Conflict', { message: 'already exists', reason: 'AlreadyExists' }, {})).kind).toBe('conflict');
    expect(toApiError(new ApiException(422, 'x', 'not json at all', {}))).toMatchObject({ kind: 'invalid', message: 'not json at all' });
    expect(toApiError(new ApiException(500, 'x', '', {}))).toMatchObject({ kind: 'server', message: 'HTTP 500' });
  });

  it('calls a refused connection unreachable', () => {
    const error = Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect(toApiError(error)).toEqual({ kind: 'unreachable', message: 'the API server is unreachable: connect ECONNREFUSED 127.0.0.1:1' });
  });

  it('wraps calls and finds the first failure', async () => {
    const good = await call(() => Promise.resolve(1));
    const bad = await call(() => Promise.reject(new ApiException(404, 'x', '{"message":"nope"}', {})));
    expect(good).toEqual({ ok: true, value: 1 });
    expect(firstError([good, bad])?.message).toBe('nope');
    expect(firstError([good])).toBeUndefined();
  });
});
