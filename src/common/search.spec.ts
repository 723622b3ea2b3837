import { allOf, likePattern, textSearch, userListConditions } from './search';

describe('search conditions', () => {
  it('treats %, _ and backslash typed in a search box literally', () => {
    expect(likePattern('50%_a\\b')).toBe('%50\\%\\_a\\\\b%');
  });

  it('searches any of the columns, or nothing for an empty box', () => {
    expect(textSearch('ann', ['a', 'b'])).toEqual({ sql: '(a ilike ? or b ilike ?)', params: ['%ann%', '%ann%'] });
    expect(textSearch('', ['a'])).toBeNull();
    expect(textSearch(undefined, ['a'])).toBeNull();
  });

  it('builds the user-list search and keyset cursor, joined with and', () => {
    expect(allOf(userListConditions('jo', 'JSmith'))).toEqual({
      sql: '(u.username ilike ? or c.full_name ilike ? or c.email ilike ?) and lower(u.username) > ?',
      params: ['%jo%', '%jo%', '%jo%', 'jsmith'],
    });
    expect(allOf(userListConditions(undefined, undefined))).toEqual({ sql: 'true', params: [] });
  });
});
