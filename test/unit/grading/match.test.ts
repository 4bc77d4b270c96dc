import { describe, expect, it } from 'vitest';
import { describeMismatches, partialMatch } from '../../../server/grading/match.ts';
import { parseQuantity, sameQuantity } from '../../../server/grading/quantity.ts';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' }, uid: 'x' },
  spec: {
    replicas: 3,
    template: {
      spec: {
        containers: [
          { name: 'sidecar', image: 'busybox:1.36', ports: [] },
          { name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: { requests: { cpu: '100m', memory: '1Gi' } } },
        ],
      },
    },
  },
};

describe('partial matching', () => {
  it('ignores what the expectation leaves out', () => {
    expect(partialMatch({ spec: { replicas: 3 } }, deployment)).toEqual([]);
    expect(partialMatch({}, deployment)).toEqual([]);
  });

  it('matches list items by content, in any position', () => {
    expect(partialMatch({ spec: { template: { spec: { containers: [{ image: 'nginx:1.27', ports: [{ containerPort: 8080 }] }] } } } }, deployment)).toEqual([]);
  });

  it('needs a different actual item for every expected item', () => {
    const two = { spec: { template: { spec: { containers: [{ image: 'nginx:1.27' }, { image: 'nginx:1.27' }] } } } };
    expect(partialMatch(two, deployment)).not.toEqual([]);
  });

  it('reports a missed item through the closest candidate, with its real position', () => {
    const mismatches = partialMatch({ spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.28' }] } } } }, deployment);
    expect(mismatches).toEqual([{ path: 'spec.template.spec.containers[1].image', expected: 'nginx:1.28', found: 'nginx:1.27' }]);
    expect(describeMismatches(mismatches)).toBe('spec.template.spec.containers[1].image: expected "nginx:1.28", found "nginx:1.27"');
  });

  it('names missing fields and wrong types', () => {
    expect(partialMatch({ spec: { paused: true } }, deployment)).toEqual([{ path: 'spec.paused', expected: true, found: undefined }]);
    expect(partialMatch({ spec: { replicas: { min: 1 } } }, deployment)).toEqual([{ path: 'spec.replicas', expected: { min: 1 }, found: 3 }]);
    expect(describeMismatches([{ path: 'spec.paused', expected: true, found: undefined }])).toBe('spec.paused: expected true, found (missing)');
  });

  it('compares quantities by amount, but never a number with a numeric string', () => {
    expect(partialMatch({ spec: { template: { spec: { containers: [{ resources: { requests: { cpu: '0.1', memory: '1024Mi' } } }] } } } }, deployment)).toEqual([]);
    expect(partialMatch({ port: 8080 }, { port: '8080' })).not.toEqual([]);
    expect(partialMatch({ name: 'web' }, { name: 'web2' })).not.toEqual([]);
    expect(partialMatch({ version: '17' }, { version: '17.0' })).toEqual([]);
  });
});

describe('quantities', () => {
  it('parses decimal, binary and exponent forms', () => {
    expect(parseQuantity('100m')).toBeCloseTo(0.1);
    expect(parseQuantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('lots')).toBeUndefined();
    expect(parseQuantity('10Xi')).toBeUndefined();
    expect(sameQuantity('1Gi', '1073741824')).toBe(true);
    expect(sameQuantity('500m', '0.5')).toBe(true);
    expect(sameQuantity('1G', '1Gi')).toBe(false);
  });
});
