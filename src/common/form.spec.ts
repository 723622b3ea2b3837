import { formLocals, list, parseId, raw, safeReturnPath, safeValues, text } from './form';

describe('form helpers', () => {
  it('never sends passwords or the CSRF token back to the form', () => {
    expect(safeValues({ username: 'jo', password: 'x', newPassword: 'y', confirmPassword: 'z', _csrf: 't' })).toEqual({ username: 'jo' });
  });

  it('builds an error summary linked to the fields', () => {
    expect(formLocals({ email: 'a' }, { email: 'Enter an e-mail address.' })).toEqual({
      values: { email: 'a' },
      errors: { email: 'Enter an e-mail address.' },
      formError: null,
      errorSummary: [{ field: 'email', message: 'Enter an e-mail address.' }],
    });
  });

  it('reads text, raw and list fields defensively', () => {
    const body = { name: '  Ann  ', pw: ' x ', one: 'a', many: ['a', 'b'], weird: { x: 1 } };
    expect(text(body, 'name')).toBe('Ann');
    expect(raw(body, 'pw')).toBe(' x ');
    expect(text(body, 'weird')).toBe('');
    expect(text(undefined, 'name')).toBe('');
    expect(list(body, 'one')).toEqual(['a']);
    expect(list(body, 'many')).toEqual(['a', 'b']);
    expect(list(body, 'missing')).toEqual([]);
  });

  it('parses positive integer ids only', () => {
    expect(parseId('42')).toBe(42);
    expect(parseId(7)).toBe(7);
    for (const bad of ['0', '-1', '1.5', '1e3', 'abc', '', '99999999999', undefined, null, {}]) expect(parseId(bad)).toBeNull();
  });

  it('only returns to local paths after login', () => {
    expect(safeReturnPath('/users?page=2')).toBe('/users?page=2');
    for (const bad of ['//evil.example', 'https://evil.example', '/\\evil.example', 'users', '/login', '/logout', undefined, '/a\r\nSet-Cookie: x']) {
      expect(safeReturnPath(bad)).toBe('/');
    }
  });
});
