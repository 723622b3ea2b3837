import { cleanUsername, explainUsername, nextFreeUsername, renderUsername, usernameFormatProblem, usernameProblem, withSuffix } from './username-format';

const john = { kind: 'person' as const, firstName: 'John', lastName: 'Smith', fullName: 'John Smith', email: 'John.Smith@Example.org' };

describe('username format', () => {
  it.each([
    ['{firstname}', 'john'],
    ['{lastname}', 'smith'],
    ['{f}', 'j'],
    ['{l}', 's'],
    ['{email}', 'john.smith@example.org'],
    ['{emaillocal}', 'john.smith'],
    ['{name}', 'johnsmith'],
    ['{f}{lastname}', 'jsmith'],
    ['{firstname}.{lastname}', 'john.smith'],
    ['{lastname}_{f}{l}', 'smith_js'],
  ])('renders %s as %s', (format, expected) => {
    expect(renderUsername(format, john)).toBe(expected);
  });

  it('folds accents and special letters', () => {
    expect(renderUsername('{firstname}.{lastname}', { kind: 'person', firstName: 'Zoë', lastName: 'Ångström', fullName: 'Zoë Ångström' })).toBe('zoe.angstrom');
    expect(renderUsername('{f}{lastname}', { kind: 'person', firstName: 'Émile', lastName: 'Ørsted-Groß' })).toBe('eorsted-gross');
    expect(cleanUsername('Łukasz Żółć')).toBe('lukaszzolc');
  });

  it('removes apostrophes and spaces', () => {
    expect(renderUsername('{f}{lastname}', { kind: 'person', firstName: 'Siobhan', lastName: "O'Neil" })).toBe('soneil');
    expect(renderUsername('{f}{lastname}', { kind: 'person', firstName: 'Anna', lastName: 'van der Berg' })).toBe('avanderberg');
    expect(renderUsername('{firstname} {lastname}', { kind: 'person', firstName: 'Mary Ann', lastName: 'Lee' })).toBe('maryannlee');
  });

  it('makes an organization contact’s username from its name', () => {
    const supplier = { kind: 'organization' as const, fullName: 'Müller & Söhne GmbH', email: 'info@mueller.example' };
    expect(renderUsername('{name}', supplier)).toBe('mullersohnegmbh');
    // Person placeholders are empty for an organization contact: the name is used instead.
    expect(renderUsername('{f}{lastname}', supplier)).toBe('mullersohnegmbh');
    expect(renderUsername('{emaillocal}', supplier)).toBe('info');
  });

  it('falls back to the name and then the e-mail when the format gives nothing', () => {
    expect(renderUsername('{emaillocal}', { kind: 'person', firstName: 'Ann', lastName: 'Lee', fullName: 'Ann Lee' })).toBe('annlee');
    expect(renderUsername('{f}{lastname}', { kind: 'person', fullName: '李小龍', email: 'bruce@example.org' })).toBe('bruce');
    expect(renderUsername('{f}{lastname}', { kind: 'person', fullName: '李小龍' })).toBe('');
  });

  it('falls back when the format leaves only punctuation (an organization contact has no first or last name)', () => {
    const supplier = { kind: 'organization' as const, fullName: 'Nordwind Logistik GmbH', email: 'info@nordwind.example' };
    expect(explainUsername('{firstname}.{lastname}', supplier)).toEqual({ username: 'nordwindlogistikgmbh', fallback: 'name' });
    expect(explainUsername('{f}-{l}', { kind: 'organization', fullName: '株式会社', email: 'sales@kk.example' })).toEqual({ username: 'sales', fallback: 'email' });
    expect(explainUsername('{firstname}.{lastname}', { kind: 'person', fullName: '…', email: '.-@x.example' })).toEqual({ username: '', fallback: null });
    expect(explainUsername('{firstname}.{lastname}', john)).toEqual({ username: 'john.smith', fallback: null });
  });

  it('appends the lowest free number on collision', () => {
    expect(nextFreeUsername('jsmith', [])).toBe('jsmith');
    expect(nextFreeUsername('jsmith', ['jsmith'])).toBe('jsmith2');
    expect(nextFreeUsername('jsmith', ['JSmith', 'jsmith2', 'jsmith3'])).toBe('jsmith4');
    expect(nextFreeUsername('jsmith', ['jsmith', 'jsmith3'])).toBe('jsmith2');
  });

  it('keeps suffixed names within the column length', () => {
    const long = 'a'.repeat(100);
    expect(withSuffix(long, 12)).toHaveLength(100);
    expect(withSuffix(long, 12).endsWith('12')).toBe(true);
    expect(renderUsername('{name}', { kind: 'organization', fullName: 'x'.repeat(150) })).toHaveLength(100);
  });

  it('validates formats', () => {
    expect(usernameFormatProblem('{f}{lastname}')).toBeNull();
    expect(usernameFormatProblem('')).toMatch(/Enter a username format/);
    expect(usernameFormatProblem('{first}')).toBe('Unknown placeholder {first}. Use {firstname}, {lastname}, {f}, {l}, {email}, {emaillocal}, {name}.');
    expect(usernameFormatProblem('{f}{lastname')).toMatch(/matching \}/);
    expect(usernameFormatProblem('admin')).toMatch(/at least one placeholder/);
  });

  it('validates typed usernames', () => {
    expect(usernameProblem('j.smith-2@corp')).toBeNull();
    expect(usernameProblem(' ')).toBe('Enter a username.');
    expect(usernameProblem('j smith')).toMatch(/only letters/);
    expect(usernameProblem('zoë')).toMatch(/only letters/);
    expect(usernameProblem('a'.repeat(101))).toMatch(/at most 100/);
    for (const junk of ['.', '..', '-', '_', '@', '.-_@']) expect(usernameProblem(junk)).toBe('A username must contain at least one letter or digit.');
    expect(usernameProblem('_7')).toBeNull();
  });
});
