import type { Expectations, MatrixWorld, RouteCase } from '../authorization-matrix';

/** Rows of `/custom-properties` (permission "manage settings", in Global only). */
function statuses(administrator: number, orgAdminWithUsers: number, orgAdminWithoutUsers: number, plainMemberWithUsers: number): Expectations {
  return { administrator, orgAdminWithUsers, orgAdminWithoutUsers, plainMemberWithUsers };
}

const ONLY_ADMIN = (ok: number) => statuses(ok, 403, 403, 403);

async function property(w: MatrixWorld): Promise<{ propertyId: number; name: string }> {
  const name = w.unique('Matrix property');
  const [row] = await w.t.sql<{ id: number }>('insert into custom_properties (name) values ($1) returning id', [name]);
  return { propertyId: row.id, name };
}

async function nameOf(w: MatrixWorld, id: unknown): Promise<string | undefined> {
  return (await w.t.sql<{ name: string }>('select name from custom_properties where id = $1', [id]))[0]?.name;
}

export const CUSTOM_PROPERTIES_CASES: RouteCase[] = [
  { method: 'GET', route: '/custom-properties', target: 'the list', path: () => '/custom-properties', expect: ONLY_ADMIN(200) },
  { method: 'GET', route: '/custom-properties/new', target: 'the form', path: () => '/custom-properties/new', expect: ONLY_ADMIN(200) },
  {
    method: 'POST',
    route: '/custom-properties',
    target: 'create a property',
    prepare: async (w) => ({ name: w.unique('Created property') }),
    path: () => '/custom-properties',
    body: (_w, o) => ({ name: o.name!, description: '', allowedValues: 'a\nb', valueMode: 'single' }),
    expect: ONLY_ADMIN(303),
    location: () => '/custom-properties',
    verify: async (w, o) => {
      if ((await w.t.sql('select 1 from custom_properties where name = $1', [o.name])).length !== 1) throw new Error(`property ${o.name} not created`);
    },
  },
  { method: 'GET', route: '/custom-properties/:id/edit', target: 'a property', prepare: property, path: (_w, o) => `/custom-properties/${o.propertyId}/edit`, expect: ONLY_ADMIN(200) },
  {
    method: 'POST',
    route: '/custom-properties/:id',
    target: 'rename a property',
    prepare: async (w) => ({ ...(await property(w)), newName: w.unique('Renamed property') }),
    path: (_w, o) => `/custom-properties/${o.propertyId}`,
    body: (_w, o) => ({ name: String(o.newName), description: '', allowedValues: '', valueMode: 'multi' }),
    expect: ONLY_ADMIN(303),
    location: () => '/custom-properties',
    verify: async (w, o) => {
      const name = await nameOf(w, o.propertyId);
      if (name !== o.newName) throw new Error(`expected ${String(o.newName)}, got ${name}`);
    },
  },
  { method: 'GET', route: '/custom-properties/:id/delete', target: 'a property', prepare: property, path: (_w, o) => `/custom-properties/${o.propertyId}/delete`, expect: ONLY_ADMIN(200) },
  {
    method: 'POST',
    route: '/custom-properties/:id/delete',
    target: 'a property',
    prepare: property,
    path: (_w, o) => `/custom-properties/${o.propertyId}/delete`,
    expect: ONLY_ADMIN(303),
    location: () => '/custom-properties',
    verify: async (w, o) => {
      if ((await nameOf(w, o.propertyId)) !== undefined) throw new Error('property not deleted');
    },
  },
  { method: 'GET', route: '/custom-properties/:id/edit', target: 'an unknown property', path: () => '/custom-properties/99999999/edit', expect: statuses(404, 403, 403, 403) },
];
