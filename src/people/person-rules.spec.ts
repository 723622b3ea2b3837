import { characters, fullNameOf, hasControlCharacters, isEmail, isPhoneNumber, phoneKey, tooLong } from './person-rules';

describe('person rules', () => {
  it('accepts the e-mail addresses people have', () => {
    for (const ok of ['ann@example.org', 'a.b+c@sub.example.org', 'o\'neil@example.co.uk', 'x_y-z@b.c']) expect(isEmail(ok)).toBe(true);
  });

  it('refuses what no page, form or file should take as an e-mail address', () => {
    for (const bad of ['nope', 'a@example', 'a b@example.org', 'a@@example.org', 'a@example..org', 'a@.example.org', 'a@example.org.', '<a@example.org>', 'a,b@example.org', '"a"@example.org']) {
      expect([bad, isEmail(bad)]).toEqual([bad, false]);
    }
    expect(isEmail(`${'a'.repeat(243)}@example.org`)).toBe(false);
    expect(isEmail(`${'a'.repeat(242)}@example.org`)).toBe(true);
  });

  it('takes mobile and phone numbers as people write them, with a digit, 3 to 40 characters', () => {
    for (const ok of ['+49 (30) 123-45/6', '(030) 1234', '0151 1', '112', '4915112345678']) expect(isPhoneNumber(ok)).toBe(true);
    for (const bad of ['call me', '12', '+', '(((', '123 ext 4', '1'.repeat(41), '030\t1234']) expect([bad, isPhoneNumber(bad)]).toEqual([bad, false]);
    expect(phoneKey('+49 (151) 123-4')).toBe('+491511234');
  });

  it('counts characters as the database does, and finds control characters', () => {
    expect(characters('Zoë Ångström')).toBe(12);
    expect(tooLong('𝔄'.repeat(100), 100)).toBe(false);
    expect(tooLong('a'.repeat(101), 100)).toBe(true);
    expect(hasControlCharacters('a\u0000b')).toBe(true);
    expect(hasControlCharacters('tab\there')).toBe(true);
    expect(hasControlCharacters('Zoë')).toBe(false);
  });

  it('derives a full name from first and last name', () => {
    expect(fullNameOf(' Ann ', 'Lee')).toBe('Ann Lee');
    expect(fullNameOf(null, 'Lee')).toBe('Lee');
    expect(fullNameOf('', '')).toBe('');
  });
});
