import { NotFoundError } from './errors';
import { ParseIdPipe, requireId } from './parse-id.pipe';

describe('ParseIdPipe', () => {
  const pipe = new ParseIdPipe();

  it('reads a positive 32-bit id', () => {
    expect(pipe.transform('42')).toBe(42);
    expect(pipe.transform('2147483647')).toBe(2147483647);
    expect(requireId(' 7 ')).toBe(7);
  });

  it.each(['', '0', '-1', '01', '1e3', '12abc', '2147483648', 'users'])('answers 404 for %j', (value) => {
    expect(() => pipe.transform(value)).toThrow(NotFoundError);
    expect(() => requireId(value)).toThrow(NotFoundError);
  });

  it('hands a malformed id on as null with orNull, for the service to refuse', () => {
    expect(ParseIdPipe.orNull.transform('5', { type: 'param' })).toBe(5);
    expect(ParseIdPipe.orNull.transform('x', { type: 'param' })).toBeNull();
  });
});
