import { positional } from './plain-query';

describe('positional', () => {
  it('numbers the placeholders outside quotes', () => {
    expect(positional(`select ? as a, '?' as "b?", coalesce(x, '-infinity'::timestamptz) > ? limit ?`)).toBe(
      `select $1 as a, '?' as "b?", coalesce(x, '-infinity'::timestamptz) > $2 limit $3`,
    );
  });

  it('keeps doubled quotes inside a literal', () => {
    expect(positional(`select 'it''s ?', ?`)).toBe(`select 'it''s ?', $1`);
  });
});
