import { decodeCursor, encodeCursor } from '../common/pagination';
import { SORT_KEYS } from './contact-list';

describe('contact list cursors', () => {
  it('round-trips the sort keys of a row', () => {
    for (const values of [['smith', 12], [false, 'a@example.org', 3], ['global', 1, 'zoë', 99]]) {
      const keys = values.map((v) => ({ type: typeof v as 'string' | 'number' | 'boolean' }));
      expect(decodeCursor(encodeCursor(values), keys)).toEqual(values);
    }
  });

  it('ignores cursors that do not fit the sort (first page instead)', () => {
    const name = SORT_KEYS.name;
    expect(decodeCursor(undefined, name)).toBeNull();
    expect(decodeCursor('', name)).toBeNull();
    expect(decodeCursor('not base64 json', name)).toBeNull();
    expect(decodeCursor(encodeCursor(['smith']), name)).toBeNull();
    expect(decodeCursor(encodeCursor([12, 'smith']), name)).toBeNull();
    expect(decodeCursor(encodeCursor(['smith', 1.5]), name)).toBeNull();
    expect(decodeCursor(encodeCursor(['nul\u0000', 1]), name)).toBeNull();
    expect(decodeCursor(encodeCursor(['smith', 1]), SORT_KEYS.email)).toBeNull();
    expect(decodeCursor(Buffer.from('{"a":1}').toString('base64url'), name)).toBeNull();
  });

  it('ends every sort with the contact id, so that keys are unique', () => {
    for (const keys of Object.values(SORT_KEYS)) expect(keys[keys.length - 1]).toEqual({ sql: 'c.id', type: 'number' });
  });
});
