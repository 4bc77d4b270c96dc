import proxyaddr from 'proxy-addr';
import { z } from 'zod';

/**
 * The grammar of the settings that bound what one visitor can consume: rate limits and which
 * proxies are trusted to name the client's address. Pure parsing; server/config.ts reads them.
 */

/** Limited per address (the visitor is anonymous, or about to become someone). */
const PER_ADDRESS = ['guests', 'signups', 'bad-joins'] as const;
/** Limited per learner, and per address for guests and accounts (participants: see README). */
const PER_LEARNER = ['sandboxes', 'checks', 'terminals'] as const;

export type RateLimitName = (typeof PER_ADDRESS)[number] | (typeof PER_LEARNER)[number] | `${(typeof PER_LEARNER)[number]}-address`;
export const RATE_LIMIT_NAMES: readonly RateLimitName[] = [...PER_ADDRESS, ...PER_LEARNER, ...PER_LEARNER.map((n) => `${n}-address` as const)];

export interface RateLimit {
  points: number;
  seconds: number;
}
export type RateLimitSettings = Record<RateLimitName, RateLimit>;

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  guests: { points: 30, seconds: 600 },
  signups: { points: 20, seconds: 3600 },
  'bad-joins': { points: 100, seconds: 600 },
  sandboxes: { points: 10, seconds: 60 },
  'sandboxes-address': { points: 300, seconds: 60 },
  checks: { points: 30, seconds: 60 },
  'checks-address': { points: 600, seconds: 60 },
  terminals: { points: 20, seconds: 60 },
  'terminals-address': { points: 300, seconds: 60 },
};

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };
const ITEM = /^([a-z-]+)=(\d+)\/(\d*)([smh])$/;

/** `sandboxes=10/1m,guests=30/10m`: the limits named are changed, the rest keep their defaults. */
export const rateLimitsSchema = z.string().transform((text, ctx): RateLimitSettings => {
  const limits = { ...DEFAULT_RATE_LIMITS };
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const match = ITEM.exec(item);
    const name = match?.[1] as RateLimitName | undefined;
    if (!match || !name || !RATE_LIMIT_NAMES.includes(name)) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not NAME=COUNT/PERIOD such as sandboxes=10/1m, with NAME one of ${RATE_LIMIT_NAMES.join(', ')}` });
      continue;
    }
    const points = Number(match[2]);
    const seconds = Number(match[3] || '1') * (UNIT_SECONDS[match[4] ?? 's'] ?? 1);
    if (points < 1 || seconds < 1 || seconds > 86_400) {
      ctx.addIssue({ code: 'custom', message: `"${item}": the count must be at least 1 and the period between 1s and 24h` });
      continue;
    }
    limits[name] = { points, seconds };
  }
  return limits;
});

/** Which hops of X-Forwarded-For to believe: the nearest N, or those from these addresses. */
export type TrustProxy = { hops: number } | { addresses: string[] };

/** `1` (one proxy in front), `loopback,10.0.0.0/8`, or `none`. */
export const trustProxySchema = z
  .string()
  .trim()
  .transform((text, ctx): TrustProxy => {
    if (/^\d+$/.test(text)) return { hops: Number(text) };
    if (['none', 'false', ''].includes(text.toLowerCase())) return { addresses: [] };
    const addresses = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    try {
      proxyaddr.compile(addresses);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `must be a number of proxies, "none", or addresses, CIDR ranges, loopback, linklocal or uniquelocal separated by commas (${error instanceof Error ? error.message : String(error)})` });
    }
    return { addresses };
  });

/** The function Express and the socket.io edge share to decide which forwarding hops to trust. */
export function trustFunction(trust: TrustProxy): (address: string, hop: number) => boolean {
  if ('hops' in trust) {
    const hops = trust.hops;
    return (_address, hop) => hop < hops;
  }
  return proxyaddr.compile(trust.addresses);
}
