import { generateKeyPair } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { ApiextensionsV1Api, SchedulingV1Api, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { z } from 'zod';
import { call, firstError } from '../cluster/api.ts';
import { issueCertificate } from '../cluster/certificates.ts';
import { applyObjects, rawClient } from '../cluster/apply.ts';
import { Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { KeyedLock } from './keyed-lock.ts';
import { groupOf, priorityClassPrefixOf } from './names.ts';

/**
 * How many CustomResourceDefinitions and PriorityClasses one sandbox may own. They are
 * cluster-scoped, so no ResourceQuota counts them, and a CEL policy sees one object, never how
 * many exist: counting needs state, so this is a validating admission webhook served by the
 * platform on loopback (the embedded API server runs on the same machine). It is called only for
 * creates by a sandbox identity (matchConditions), and fails closed.
 */

export interface ObjectLimits {
  crds: number;
  priorityClasses: number;
}

export const DEFAULT_OBJECT_LIMITS: ObjectLimits = { crds: 10, priorityClasses: 5 };
export const WEBHOOK_NAME = 'kubedojo-learner-object-limits';
const SANDBOX_GROUP = /^system:serviceaccounts:(kd-[a-z0-9-]+)$/;
/** An object admitted here counts until the cluster lists it (or the create failed later). */
const RESERVATION_MS = 15_000;

const reviewSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('AdmissionReview'),
  request: z.object({
    uid: z.string(),
    kind: z.object({ group: z.string(), kind: z.string() }),
    operation: z.string(),
    name: z.string().optional(),
    dryRun: z.boolean().optional(),
    userInfo: z.object({ username: z.string().optional(), groups: z.array(z.string()).optional() }),
    object: z.object({ metadata: z.object({ name: z.string().optional() }).optional(), spec: z.object({ group: z.string().optional() }).loose().optional() }).loose().optional(),
  }),
});

interface Decision {
  allowed: boolean;
  message?: string;
}

async function selfSigned(): Promise<{ key: string; cert: string }> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  // Self-signed and handed to the API server as its own caBundle: a CA that signs only itself.
  const cert = await issueCertificate({ cn: 'kubedojo-object-limits', keys: { privatePem: privateKey, publicPem: publicKey }, ca: true, usage: 'server', names: { dns: [], ip: ['127.0.0.1'] }, days: 3650 });
  return { key: privateKey, cert };
}

export class ObjectLimitWebhook {
  private readonly kc: KubeConfig;
  private readonly limits: ObjectLimits;
  private readonly log: Logger;
  private readonly lock = new KeyedLock();
  private readonly reserved = new Map<string, Map<string, number>>();

  constructor(deps: { kubeConfig: KubeConfig; limits: ObjectLimits; logger: Logger }) {
    this.kc = deps.kubeConfig;
    this.limits = deps.limits;
    this.log = deps.logger.child({ component: 'object-limits' });
  }

  /** The names a sandbox owns of one kind now, as the cluster lists them. */
  private async owned(kind: 'crd' | 'pc', sandbox: string): Promise<string[]> {
    if (kind === 'crd') {
      const list = await call(() => this.kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition());
      if (!list.ok) throw new Unavailable(`could not count the sandbox's CustomResourceDefinitions: ${list.error.message}`);
      return list.value.items.filter((c) => c.spec.group === groupOf(sandbox)).map((c) => c.metadata?.name ?? '');
    }
    const list = await call(() => this.kc.makeApiClient(SchedulingV1Api).listPriorityClass());
    if (!list.ok) throw new Unavailable(`could not count the sandbox's PriorityClasses: ${list.error.message}`);
    return list.value.items.map((p) => p.metadata?.name ?? '').filter((n) => n.startsWith(priorityClassPrefixOf(sandbox)));
  }

  /** Admits a create while the sandbox owns fewer than its limit; one decision per sandbox at a time. */
  decide(review: z.infer<typeof reviewSchema>['request']): Promise<Decision> {
    const sandbox = (review.userInfo.groups ?? []).map((g) => SANDBOX_GROUP.exec(g)?.[1]).find((s) => s !== undefined);
    if (!sandbox || review.operation !== 'CREATE') return Promise.resolve({ allowed: true });
    const kind = review.kind.kind === 'CustomResourceDefinition' ? 'crd' : review.kind.kind === 'PriorityClass' ? 'pc' : undefined;
    if (!kind) return Promise.resolve({ allowed: true });
    const name = review.name ?? review.object?.metadata?.name ?? '';
    return this.lock.run(`${kind}/${sandbox}`, async () => {
      const key = `${kind}/${sandbox}`;
      const now = Date.now();
      const pending = this.reserved.get(key) ?? new Map<string, number>();
      for (const [n, until] of pending) if (until < now) pending.delete(n);
      const names = new Set([...(await this.owned(kind, sandbox)), ...pending.keys()]);
      names.delete(name);
      const limit = kind === 'crd' ? this.limits.crds : this.limits.priorityClasses;
      if (names.size >= limit) {
        const what = kind === 'crd' ? 'CustomResourceDefinitions' : 'PriorityClasses';
        this.log.info({ sandbox, kind, limit }, 'refused a learner object over the limit');
        return { allowed: false, message: `sandbox ${sandbox} already owns ${names.size} ${what}, the most one sandbox may have (${limit}); delete one first` };
      }
      if (!review.dryRun) pending.set(name, now + RESERVATION_MS);
      this.reserved.set(key, pending);
      return { allowed: true };
    });
  }

  /** Serves AdmissionReviews on 127.0.0.1 and registers itself with the API server. */
  async start(): Promise<{ url: string; close(): Promise<void> }> {
    const tls = await selfSigned();
    const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > 4 * 1024 * 1024) req.destroy();
        else chunks.push(chunk);
      });
      req.on('end', () => {
        void this.answer(Buffer.concat(chunks).toString('utf8')).then(({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/admit`;
    const failed = firstError(await applyObjects(this.kc, [this.configuration(url, tls.cert)]));
    if (failed) {
      server.close();
      throw new Unavailable(`could not register the learner object limits: ${failed.message}`);
    }
    this.log.info({ url, limits: this.limits }, 'learner CRDs and PriorityClasses are counted by this server');
    return {
      url,
      close: async () => {
        // Another server may have taken the registration over since: leave theirs alone.
        const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${WEBHOOK_NAME}`;
        const current = await rawClient(this.kc).get<{ webhooks?: { clientConfig?: { url?: string } }[] }>(path);
        if (current.ok && current.value.webhooks?.[0]?.clientConfig?.url === url) await rawClient(this.kc).delete(path);
        const closed = new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        });
        server.closeAllConnections();
        await closed;
      },
    };
  }

  private async answer(text: string): Promise<{ status: number; body: unknown }> {
    let parsed: z.infer<typeof reviewSchema>;
    try {
      parsed = reviewSchema.parse(JSON.parse(text));
    } catch (error) {
      return { status: 400, body: { message: `not an AdmissionReview: ${error instanceof Error ? error.message : String(error)}` } };
    }
    let decision: Decision;
    try {
      decision = await this.decide(parsed.request);
    } catch (error) {
      this.log.warn({ err: error }, 'could not count a sandbox’s objects; refusing the create');
      decision = { allowed: false, message: 'the platform could not count this sandbox’s objects right now; try again' };
    }
    const response = { uid: parsed.request.uid, allowed: decision.allowed, ...(decision.allowed ? {} : { status: { code: 403, reason: 'Forbidden', message: decision.message } }) };
    return { status: 200, body: { apiVersion: parsed.apiVersion, kind: 'AdmissionReview', response } };
  }

  private configuration(url: string, caPem: string): KubernetesObject {
    const rule = (apiGroup: string, resource: string) => ({ apiGroups: [apiGroup], apiVersions: ['*'], operations: ['CREATE'], resources: [resource], scope: 'Cluster' });
    return {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: WEBHOOK_NAME, labels: { 'kubedojo.dev/managed-by': 'kubedojo' } },
      webhooks: [
        {
          name: 'object-limits.kubedojo.dev',
          clientConfig: { url, caBundle: Buffer.from(caPem).toString('base64') },
          rules: [rule('apiextensions.k8s.io', 'customresourcedefinitions'), rule('scheduling.k8s.io', 'priorityclasses')],
          matchConditions: [{ name: 'is-sandbox-identity', expression: "request.userInfo.groups.exists(g, g.startsWith('system:serviceaccounts:kd-'))" }],
          failurePolicy: 'Fail',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 5,
        },
      ],
    } as KubernetesObject;
  }
}
