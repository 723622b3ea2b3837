import type { Expectations, MatrixWorld, RouteCase } from '../authorization-matrix';

/**
 * Rows of Settings → Authentication → Identity providers: only an Administrator in Global
 * (organization administrators, with or without "manage users", get 403 and change nothing).
 */
const ONLY_ADMIN = (ok: number): Expectations => ({ administrator: ok, orgAdminWithUsers: 403, orgAdminWithoutUsers: 403, plainMemberWithUsers: 403 });
const BASE = '/settings/identity-providers';

async function provider(w: MatrixWorld, enabled = true): Promise<{ providerId: number; key: string }> {
  const key = w.unique('matrix-idp');
  const [row] = await w.t.sql<{ id: number }>(
    `insert into identity_providers (key, label, kind, enabled, settings) values ($1, $1, 'oidc', $2, '{"issuerUrl":"https://idp.example","clientId":"c"}') returning id`,
    [key, enabled],
  );
  return { providerId: row.id, key };
}

const form = (key: string, label: string) => ({ kind: 'oidc', key, label, issuerUrl: 'https://idp.example', clientId: 'tessera', scopes: 'openid', secret: 's3cret', jitOrganizationMode: 'fixed' });

async function row(w: MatrixWorld, id: unknown) {
  return (await w.t.sql<{ label: string; enabled: boolean }>('select label, enabled from identity_providers where id = $1', [id]))[0];
}

export const IDENTITY_PROVIDER_CASES: RouteCase[] = [
  { method: 'GET', route: BASE, target: 'the list', path: () => BASE, expect: ONLY_ADMIN(200) },
  { method: 'GET', route: `${BASE}/new`, target: 'the add form', path: () => `${BASE}/new?kind=oidc`, expect: ONLY_ADMIN(200) },
  {
    method: 'POST',
    route: BASE,
    target: 'add a provider',
    prepare: async (w) => ({ name: w.unique('created-idp') }),
    path: () => BASE,
    body: (_w, o) => form(o.name!, 'Created'),
    expect: ONLY_ADMIN(303),
    location: () => new RegExp(`^${BASE}/\\d+/edit$`),
    verify: async (w, o) => {
      if ((await w.t.sql('select 1 from identity_providers where key = $1', [o.name])).length !== 1) throw new Error(`provider ${o.name} not created`);
    },
  },
  { method: 'GET', route: `${BASE}/:id/edit`, target: 'a provider', prepare: (w) => provider(w), path: (_w, o) => `${BASE}/${o.providerId}/edit`, expect: ONLY_ADMIN(200) },
  {
    method: 'POST',
    route: `${BASE}/:id`,
    target: 'edit a provider',
    prepare: (w) => provider(w),
    path: (_w, o) => `${BASE}/${o.providerId}`,
    body: (_w, o) => form(String(o.key), 'Relabelled'),
    expect: ONLY_ADMIN(303),
    location: (_w, o) => `${BASE}/${o.providerId}/edit`,
    verify: async (w, o) => {
      if ((await row(w, o.providerId))?.label !== 'Relabelled') throw new Error('provider not saved');
    },
  },
  {
    method: 'POST',
    route: `${BASE}/:id/disable`,
    target: 'disable a provider',
    prepare: (w) => provider(w),
    path: (_w, o) => `${BASE}/${o.providerId}/disable`,
    expect: ONLY_ADMIN(303),
    location: () => BASE,
    verify: async (w, o) => {
      if ((await row(w, o.providerId))?.enabled !== false) throw new Error('provider not disabled');
    },
  },
  {
    method: 'POST',
    route: `${BASE}/:id/enable`,
    target: 'enable a provider',
    prepare: (w) => provider(w, false),
    path: (_w, o) => `${BASE}/${o.providerId}/enable`,
    expect: ONLY_ADMIN(303),
    location: () => BASE,
    verify: async (w, o) => {
      if ((await row(w, o.providerId))?.enabled !== true) throw new Error('provider not enabled');
    },
  },
  { method: 'GET', route: `${BASE}/:id/delete`, target: 'the delete page', prepare: (w) => provider(w), path: (_w, o) => `${BASE}/${o.providerId}/delete`, expect: ONLY_ADMIN(200) },
  {
    method: 'POST',
    route: `${BASE}/:id/delete`,
    target: 'delete a provider',
    prepare: (w) => provider(w),
    path: (_w, o) => `${BASE}/${o.providerId}/delete`,
    expect: ONLY_ADMIN(303),
    location: () => BASE,
    verify: async (w, o) => {
      if ((await row(w, o.providerId)) !== undefined) throw new Error('provider not deleted');
    },
  },
];
