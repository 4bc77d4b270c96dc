import type { LtiAdminResponse, LtiPlatformView, LtiRegistrationLinkResponse } from '../../../server/protocol.ts';
import { deleteJson, getJson, postJson } from '../api.ts';
import { h } from '../dom.ts';
import { field, showError } from '../forms.ts';

/**
 * The admin's LTI card: the URLs to paste into an LMS, a one-time dynamic registration link, the
 * registered platforms (remove), and a form for a platform registered by hand.
 */
export async function ltiCard(): Promise<HTMLElement> {
  const card = h('section', { class: 'card', 'aria-labelledby': 'lti-heading', 'data-testid': 'lti' });
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-testid': 'lti-status' });
  const linkSlot = h('p', {});
  const list = h('ul', { class: 'plain-list', 'data-testid': 'lti-platforms' });

  const renderPlatforms = (platforms: LtiPlatformView[]) => {
    list.replaceChildren(
      ...(platforms.length === 0
        ? [h('li', { class: 'muted' }, 'No LMS is registered yet.')]
        : platforms.map((p) => {
            const remove = h('button', { type: 'button', class: 'link-button', 'data-testid': 'lti-remove' }, 'Remove');
            remove.addEventListener('click', () => {
              if (!confirm(`Remove ${p.name}? Its launches stop working; its courses' rooms stay.`)) return;
              void deleteJson(`/api/admin/lti/platforms/${p.id}`).then(refresh, (error: unknown) => (status.textContent = error instanceof Error ? error.message : String(error)));
            });
            return h('li', { 'data-testid': 'lti-platform' }, h('strong', {}, p.name), ` · issuer ${p.issuer} · client ${p.clientId} · deployments ${p.deployments.join(', ') || 'none yet'} · ${p.registeredBy} `, remove);
          })),
    );
  };
  const refresh = async () => {
    renderPlatforms((await getJson<LtiAdminResponse>('/api/admin/lti')).platforms);
  };

  const newLink = h('button', { type: 'button', class: 'button', 'data-testid': 'lti-new-link' }, 'New registration link');
  newLink.addEventListener('click', () => {
    postJson<LtiRegistrationLinkResponse>('/api/admin/lti/registration-links', {}).then(
      (link) => {
        linkSlot.replaceChildren('Paste this into the LMS (it works once, until ', new Date(link.expiresAt).toLocaleString(), '): ', h('code', { 'data-testid': 'lti-registration-url' }, link.url));
      },
      (error: unknown) => (status.textContent = error instanceof Error ? error.message : String(error)),
    );
  });

  const inputs = {
    name: field('Name', 'lti-name', { 'data-testid': 'lti-name' }),
    issuer: field('Issuer', 'lti-issuer', { 'data-testid': 'lti-issuer' }),
    clientId: field('Client id', 'lti-client', { 'data-testid': 'lti-client' }),
    deployments: field('Deployment ids (comma-separated)', 'lti-deployments', { 'data-testid': 'lti-deployments' }),
    authUrl: field('Authentication request URL', 'lti-auth', { 'data-testid': 'lti-auth' }),
    tokenUrl: field('Access token URL', 'lti-token', { 'data-testid': 'lti-token' }),
    jwksUrl: field('Public keyset URL', 'lti-jwks', { 'data-testid': 'lti-jwks' }),
  };
  const add = h('button', { type: 'submit', class: 'button', 'data-testid': 'lti-add' }, 'Add platform');
  const form = h('form', { class: 'form', novalidate: '' }, h('h3', {}, 'Register an LMS by hand'), ...Object.values(inputs).map((f) => f.wrap), add);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {
      name: inputs.name.input.value,
      issuer: inputs.issuer.input.value,
      clientId: inputs.clientId.input.value,
      deployments: inputs.deployments.input.value.split(',').map((d) => d.trim()).filter(Boolean),
      authUrl: inputs.authUrl.input.value,
      tokenUrl: inputs.tokenUrl.input.value,
      jwksUrl: inputs.jwksUrl.input.value,
    };
    postJson<LtiPlatformView>('/api/admin/lti/platforms', body).then(
      async (p) => {
        status.textContent = `Registered ${p.name}.`;
        status.className = 'muted';
        await refresh();
      },
      (error: unknown) => {
        showError(error, status, inputs);
      },
    );
  });

  const admin = await getJson<LtiAdminResponse>('/api/admin/lti');
  const urls = admin.tool;
  card.append(
    h('h2', { id: 'lti-heading' }, 'LMS (LTI 1.3)'),
    h(
      'dl',
      { class: 'kvs' },
      ...[
        ['Login initiation URL', urls.login, 'login'],
        ['Redirect / launch URL', urls.launch, 'launch'],
        ['Deep linking URL', urls.deepLinking, 'deep-linking'],
        ['Public keyset (JWKS) URL', urls.jwks, 'jwks'],
      ].map(([label, value, id]) => h('div', { class: 'kv' }, h('dt', {}, label ?? ''), h('dd', {}, h('code', { 'data-testid': `lti-url-${id ?? ''}` }, value ?? '')))),
    ),
    h('p', {}, newLink, ' Dynamic registration: Moodle and Canvas install kubedojo from one link.'),
    linkSlot,
    h('p', { class: 'muted' }, `Scores: ${admin.scores.delivered} delivered, ${admin.scores.pending} waiting, ${admin.scores.failed} refused by an LMS.`),
    list,
    form,
    status,
  );
  renderPlatforms(admin.platforms);
  return card;
}
