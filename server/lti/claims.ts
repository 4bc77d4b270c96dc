import { z } from 'zod';

/** The claims of LTI 1.3 messages (LTI Core 1.3, Deep Linking 2.0, AGS 2.0, NRPS 2.0). */

const LTI = 'https://purl.imsglobal.org/spec/lti/claim/';
export const CLAIM = {
  messageType: `${LTI}message_type`,
  version: `${LTI}version`,
  deploymentId: `${LTI}deployment_id`,
  targetLinkUri: `${LTI}target_link_uri`,
  resourceLink: `${LTI}resource_link`,
  roles: `${LTI}roles`,
  context: `${LTI}context`,
  custom: `${LTI}custom`,
  launchPresentation: `${LTI}launch_presentation`,
  toolPlatform: `${LTI}tool_platform`,
  ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice',
  deepLinkingSettings: 'https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings',
  contentItems: 'https://purl.imsglobal.org/spec/lti-dl/claim/content_items',
  deepLinkingData: 'https://purl.imsglobal.org/spec/lti-dl/claim/data',
} as const;

export const SCOPE = {
  lineItem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  lineItemRead: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  resultRead: 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  memberships: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
} as const;

export const TOOL_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-tool-configuration';
export const PLATFORM_CONFIGURATION = 'https://purl.imsglobal.org/spec/lti-platform-configuration';

const MEMBERSHIP = 'http://purl.imsglobal.org/vocab/lis/v2/membership';
/** Context roles that teach: they get the course's room, and may pick content (deep linking). */
const TEACHING = ['Instructor', 'ContentDeveloper', 'Administrator', 'Mentor'];

/**
 * Whether someone teaches the course. Only context (membership) roles count, in full or in the
 * short form LTI 1.3 allows; an institution or system role alone says nothing about this course.
 */
export function teaches(roles: readonly string[]): boolean {
  return roles.some((role) => {
    const short = role.startsWith(`${MEMBERSHIP}#`) ? role.slice(MEMBERSHIP.length + 1) : role.startsWith(`${MEMBERSHIP}/`) ? (role.slice(MEMBERSHIP.length + 1).split('#')[0] ?? '') : role;
    return TEACHING.includes(short);
  });
}

const url = z.url({ error: 'must be an absolute URL' });
const text = (max: number) => z.string({ error: 'must be a string' }).max(max, `must be at most ${max} characters`);

const common = {
  iss: text(2000),
  sub: text(255).min(1, 'must not be empty'),
  nonce: text(500).min(1, 'must not be empty'),
  name: text(200).optional(),
  given_name: text(200).optional(),
  family_name: text(200).optional(),
  email: text(320).optional(),
  [CLAIM.version]: z.literal('1.3.0', { error: 'must be "1.3.0": this tool speaks LTI 1.3' }),
  [CLAIM.deploymentId]: text(255).min(1, 'must not be empty'),
  [CLAIM.roles]: z.array(text(500), { error: 'must be a list of role URIs' }).max(100),
  [CLAIM.context]: z.looseObject({ id: text(255).min(1, 'must not be empty'), label: text(255).optional(), title: text(500).optional() }).optional(),
  [CLAIM.custom]: z.record(z.string(), z.unknown()).optional(),
  [CLAIM.toolPlatform]: z.looseObject({ name: text(255).optional(), product_family_code: text(255).optional() }).optional(),
};

export const resourceLinkClaims = z.looseObject({
  ...common,
  [CLAIM.messageType]: z.literal('LtiResourceLinkRequest'),
  [CLAIM.targetLinkUri]: url,
  [CLAIM.resourceLink]: z.looseObject({ id: text(255).min(1, 'must not be empty'), title: text(500).optional() }, { error: 'is required in a resource link launch' }),
  [CLAIM.ags]: z.looseObject({ scope: z.array(text(500)).max(20), lineitems: url.optional(), lineitem: url.optional() }).optional(),
  [CLAIM.nrps]: z.looseObject({ context_memberships_url: url }).optional(),
});

export const deepLinkingClaims = z.looseObject({
  ...common,
  [CLAIM.messageType]: z.literal('LtiDeepLinkingRequest'),
  [CLAIM.deepLinkingSettings]: z.looseObject(
    {
      deep_link_return_url: url,
      accept_types: z.array(text(100), { error: 'must be a list of content types' }).max(20),
      accept_multiple: z.boolean().optional(),
      data: text(4000).optional(),
    },
    { error: 'is required in a deep linking request' },
  ),
});

export const messageType = z.enum(['LtiResourceLinkRequest', 'LtiDeepLinkingRequest'], { error: 'must be LtiResourceLinkRequest or LtiDeepLinkingRequest' });

export type ResourceLinkClaims = z.infer<typeof resourceLinkClaims>;
export type DeepLinkingClaims = z.infer<typeof deepLinkingClaims>;

/** The name to show for an LMS user: their full name, or the parts of it they gave. */
export function displayNameOf(claims: { name?: string | undefined; given_name?: string | undefined; family_name?: string | undefined; email?: string | undefined }): string {
  const joined = [claims.given_name, claims.family_name].filter((p) => p && p.trim()).join(' ');
  const name = claims.name?.trim() || joined || claims.email?.split('@')[0] || 'LMS learner';
  return name.slice(0, 60);
}

/** Where a link points: custom parameters (from deep linking or the LMS's settings), or the target URL's query. */
export function targetOf(custom: Record<string, unknown> | undefined, targetLinkUri: string): { lesson: string; exercise: string | null } | undefined {
  const fromCustom = typeof custom?.kubedojo_lesson === 'string' ? custom.kubedojo_lesson : typeof custom?.lesson === 'string' ? custom.lesson : undefined;
  const exerciseCustom = typeof custom?.kubedojo_exercise === 'string' ? custom.kubedojo_exercise : typeof custom?.exercise === 'string' ? custom.exercise : undefined;
  let query: URLSearchParams | undefined;
  try {
    query = new URL(targetLinkUri).searchParams;
  } catch {
    query = undefined;
  }
  const lesson = fromCustom ?? query?.get('lesson') ?? undefined;
  if (!lesson) return undefined;
  const exercise = (fromCustom !== undefined ? exerciseCustom : (query?.get('exercise') ?? undefined)) ?? null;
  return { lesson, exercise: exercise === '' ? null : exercise };
}
