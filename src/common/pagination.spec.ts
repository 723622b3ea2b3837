import { pageLinks, pageSize } from './pagination';

describe('pagination', () => {
  it('keeps the filters and replaces the cursor', () => {
    expect(pageLinks('/audit', { action: 'login.failure', before: '90', q: '' }, 'before', '40')).toEqual({
      first: '/audit?action=login.failure',
      next: '/audit?action=login.failure&before=40',
    });
  });

  it('offers no links on a single first page', () => {
    expect(pageLinks('/audit', {}, 'before', null)).toEqual({ first: null, next: null });
  });

  it('links to the previous page where the list seeks backwards, dropping both cursors from the others', () => {
    expect(pageLinks('/users', { q: 'x', after: 'A' }, 'after', 'B', { param: 'before', cursor: 'P' })).toEqual({
      first: '/users?q=x',
      previous: '/users?q=x&before=P',
      next: '/users?q=x&after=B',
    });
    expect(pageLinks('/users', { q: 'x', before: 'P' }, 'after', 'B', { param: 'before', cursor: null })).toEqual({
      first: '/users?q=x',
      previous: null,
      next: '/users?q=x&after=B',
    });
  });

  it('bounds the page size', () => {
    expect(pageSize(undefined)).toBe(50);
    expect(pageSize('10')).toBe(10);
    expect(pageSize('0')).toBe(1);
    expect(pageSize('100000')).toBe(200);
    expect(pageSize('abc')).toBe(50);
  });
});
