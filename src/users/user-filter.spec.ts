import { backToList, filterFields, filterQueryString, isFiltered, parseUserFilter } from './user-filter';

describe('the users list filter as it travels (query string, Export link, bulk form)', () => {
  it('reads every filter parameter and drops unknown values', () => {
    expect(parseUserFilter({ q: ' ann ', org: '7', sub: '1', role: '3', status: 'locked', licence: '2', prop: '5', value: 'Paris', after: 'x' })).toEqual({
      q: 'ann',
      organizationId: 7,
      withSubOrganizations: true,
      roleId: 3,
      status: 'locked',
      licenceId: 2,
      propertyId: 5,
      propertyValue: 'Paris',
    });
    expect(parseUserFilter({ org: 'abc', status: 'gone', sub: 'yes', role: ['1', '2'] })).toEqual({
      q: undefined,
      organizationId: undefined,
      withSubOrganizations: false,
      roleId: undefined,
      status: undefined,
      licenceId: undefined,
      propertyId: undefined,
      propertyValue: undefined,
    });
  });

  it('writes back exactly what it read, so the export and "all matching" select what the list shows', () => {
    const query = { q: 'a&b', org: '7', sub: '1', status: 'enabled', prop: '5', value: 'x y' };
    const filter = parseUserFilter(query);
    expect(parseUserFilter(Object.fromEntries(new URLSearchParams(filterQueryString(filter))))).toEqual(filter);
    expect(parseUserFilter(Object.fromEntries(filterFields(filter).map((f) => [f.name, f.value])))).toEqual(filter);
    expect(filterQueryString(parseUserFilter({}))).toBe('');
  });

  it('counts as filtered only what narrows the list', () => {
    expect(isFiltered(parseUserFilter({ sub: '1' }))).toBe(false);
    expect(isFiltered(parseUserFilter({ value: 'x' }))).toBe(false);
    expect(isFiltered(parseUserFilter({ prop: '1' }))).toBe(true);
  });

  it('goes back only to the users list', () => {
    expect(backToList({ back: '/users?q=a&after=x' })).toBe('/users?q=a&after=x');
    expect(backToList({ back: '/users' })).toBe('/users');
    expect(backToList({ back: '/users/5' })).toBe('/users');
    expect(backToList({ back: '//evil.example/users' })).toBe('/users');
    expect(backToList({})).toBe('/users');
  });
});
