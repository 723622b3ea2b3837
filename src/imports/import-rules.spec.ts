import { DEFAULT_PASSWORD_POLICY } from '../accounts/password-policy';
import { ERRORS_KEPT_MAX, ExistingKeys, ImportError, ReferenceData, validateSheet } from './import-rules';
import type { ParsedSheet } from './workbook-reader';

const ref: ReferenceData = {
  properties: [
    { id: 1, name: 'Skill', allowedValues: ['Java', 'Go', 'Rust'], multiValued: true },
    { id: 2, name: 'Gender', allowedValues: ['F', 'M', 'X'], multiValued: false },
    { id: 3, name: 'Project Code', allowedValues: [], multiValued: false },
  ],
  roles: new Map([
    ['member', { id: 10, name: 'Member' }],
    ['user manager', { id: 11, name: 'User manager' }],
  ]),
  defaultRoleIds: [10],
  organizations: new Map([
    ['', { id: 1, name: 'Global' }],
    ['a', { id: 2, name: 'A' }],
    ['a/a1', { id: 3, name: 'A1' }],
  ]),
  rootName: 'Global',
  licences: new Map([
    ['standard', { id: 20, name: 'Standard', seats: null, used: 5 }],
    ['premium', { id: 21, name: 'Premium', seats: 2, used: 1 }],
  ]),
  defaultLicenceId: 20,
  profiles: new Map([['self-service', { id: 30, name: 'Self-service' }]]),
  defaultProfileId: 30,
  departments: new Map([['sales', 'Sales']]),
  policy: DEFAULT_PASSWORD_POLICY,
  providers: new Set(['azure', 'okta']),
};

const none: ExistingKeys = { usernames: new Set(), emails: new Set(), mobiles: new Set(), externalIds: new Set() };

const HEADERS = ['Id', 'UserName', 'FirstName', 'LastName', 'FullName', 'Email', 'Mobile', 'Password', 'Provider', 'Roles', 'Enabled', 'Department', 'Organizations', 'Licence', 'Profile', 'Skill', 'Gender', 'Project Code'];

function sheet(rows: Record<string, string>[], headers = HEADERS): ParsedSheet {
  return {
    kind: 'xlsx',
    headers,
    headerRow: 1,
    rows: rows.map((r, i) => ({ rowNumber: i + 2, cells: headers.map((h) => (r[h] === undefined ? undefined : { text: r[h] })) })),
    extraColumns: [],
  };
}

const valid = (i: number, extra: Record<string, string> = {}) => ({ UserName: `u${i}`, Email: `u${i}@example.org`, Password: `Passw0rd${i}`, ...extra });

function errorsOf(rows: Record<string, string>[], existing = none): Pick<ImportError, 'row' | 'column' | 'message'>[] {
  return validateSheet(sheet(rows), ref, existing).errors.map(({ row, column, message }) => ({ row, column, message }));
}

describe('validateSheet', () => {
  it('turns a valid row into a user with the defaults', () => {
    const result = validateSheet(sheet([valid(1, { FirstName: 'Ann', LastName: 'Lee' })]), ref, none);
    expect(result.errors).toEqual([]);
    expect(result.users[0]).toMatchObject({
      username: 'u1',
      fullName: 'Ann Lee',
      provider: 'local',
      password: 'Passw0rd1',
      roleIds: [10],
      enabled: true,
      organizationIds: [1],
      licenceId: 20,
      profileId: 30,
      properties: [],
    });
  });

  it('reads every column', () => {
    const [user] = validateSheet(
      sheet([
        valid(1, {
          Roles: 'member, User Manager',
          Enabled: 'FALSE',
          Department: 'sales',
          Organizations: 'A/A1, Global\nA',
          Licence: 'premium',
          Profile: 'SELF-SERVICE',
          Skill: 'java\nRust',
          Gender: 'x',
          'Project Code': 'P-7',
          Mobile: '+49 151 123',
          Id: 'e-1',
        }),
      ]),
      ref,
      none,
    ).users;
    expect(user).toMatchObject({
      roleIds: [10, 11],
      enabled: false,
      department: 'Sales',
      organizationIds: [3, 1, 2],
      licenceId: 21,
      profileId: 30,
      mobile: '+49 151 123',
      externalId: 'e-1',
      properties: [
        { propertyId: 1, values: ['Java', 'Rust'] },
        { propertyId: 2, values: ['X'] },
        { propertyId: 3, values: ['P-7'] },
      ],
    });
  });

  it.each([
    ['UserName required', { UserName: '' }, 'UserName', 'UserName is required.'],
    ['UserName characters (the rule of every username)', { UserName: 'j smith' }, 'UserName', 'A username may contain only letters a–z, digits and . _ @ - (no spaces or accents).'],
    ['Email required', { Email: '' }, 'Email', 'Email is required.'],
    ['Email valid', { Email: 'not-an-address' }, 'Email', '"not-an-address" is not a valid e-mail address.'],
    ['Password required for local', { Password: '' }, 'Password', 'Password is required for provider local.'],
    ['Password policy', { Password: 'short1' }, 'Password', 'The password needs at least 8 characters.'],
    ['Password policy (digit)', { Password: 'longenoughpassword' }, 'Password', 'The password needs a digit.'],
    ['Password policy (letter)', { Password: '1234567890' }, 'Password', 'The password needs a letter.'],
    ['Password policy (at most 32 characters)', { Password: `Passw0rd${'x'.repeat(25)}` }, 'Password', 'The password needs at most 32 characters.'],
    ['Mobile is a phone number', { Mobile: 'call me' }, 'Mobile', '"call me" is not a phone number.'],
    ['Provider name', { Provider: 'my provider', Id: 'x1', Password: '' }, 'Provider', 'Provider must be "local" or the name of an SSO provider (letters, digits, dot, dash, underscore).'],
    ['unknown provider', { Provider: 'google', Id: 'x1', Password: '' }, 'Provider', 'No identity provider has the key "google". Use local or one of the configured providers: azure, okta.'],
    ['Id required for SSO', { Provider: 'azure', Password: '' }, 'Id', 'Id is required for provider "azure".'],
    ['no password for SSO', { Provider: 'azure', Id: 'x1' }, 'Password', 'Users of provider "azure" sign in with their SSO account and never get a password: leave Password empty.'],
    ['Roles exist', { Roles: 'Member, Wizard' }, 'Roles', 'Role "Wizard" does not exist.'],
    ['Enabled true/false', { Enabled: 'yes' }, 'Enabled', 'Enabled must be true or false.'],
    ['Organizations exist', { Organizations: 'A/A9' }, 'Organizations', 'Organization "A/A9" does not exist.'],
    ['Licence exists', { Licence: 'Gold' }, 'Licence', 'Licence "Gold" does not exist.'],
    ['Profile exists', { Profile: 'Boss' }, 'Profile', 'Profile "Boss" does not exist.'],
    ['Department exists', { Department: 'Magic' }, 'Department', 'Department "Magic" does not exist.'],
    ['allowed values', { Gender: 'Q' }, 'Gender', '"Q" is not an allowed value of Gender (allowed: F, M, X).'],
    ['allowed values, multi-valued', { Skill: 'Java\nCobol' }, 'Skill', '"Cobol" is not an allowed value of Skill (allowed: Java, Go, Rust).'],
    ['single-valued property', { 'Project Code': 'P1\nP2' }, 'Project Code', 'Project Code takes a single value (this cell holds several lines).'],
  ])('%s', (_name, change, column, message) => {
    const result = validateSheet(sheet([valid(1, change)]), ref, none);
    expect(result.errors).toEqual([{ row: 2, column, value: expect.any(String), message }]);
    expect(result.users).toEqual([]);
  });

  it('never reports a password in the error value', () => {
    const [error] = validateSheet(sheet([valid(1, { Password: 'short1' })]), ref, none).errors;
    expect(error.value).toBe('(hidden)');
  });

  it('finds duplicates inside the file', () => {
    expect(
      errorsOf([valid(1, { Mobile: '0151 1' }), valid(2, { UserName: 'U1', Email: 'U1@example.org', Mobile: '01511' }), valid(3, { Provider: 'azure', Id: 'a', Password: '' }), valid(4, { Provider: 'Azure', Id: 'a', Password: '' })]),
    ).toEqual([
      { row: 3, column: 'UserName', message: 'UserName "U1" appears more than once in the file (rows 2 and 3).' },
      { row: 3, column: 'Email', message: 'Email "U1@example.org" appears more than once in the file (rows 2 and 3).' },
      { row: 3, column: 'Mobile', message: 'Mobile "01511" appears more than once in the file (rows 2 and 3).' },
      { row: 5, column: 'Id', message: 'Id "a" appears more than once in the file (rows 4 and 5).' },
    ]);
  });

  it('takes an SSO user with an Id and no password; the same Id is free under another provider', () => {
    const result = validateSheet(sheet([valid(1, { Provider: 'azure', Id: 'a', Password: '' }), valid(2, { Provider: 'okta', Id: 'a', Password: '' }), valid(3, { Id: 'a' })]), ref, none);
    expect(result.errors).toEqual([]);
    expect(result.users.map((u) => [u.provider, u.externalId, u.password])).toEqual([
      ['azure', 'a', null],
      ['okta', 'a', null],
      ['local', 'a', 'Passw0rd3'],
    ]);
  });

  it('refuses users already registered', () => {
    const existing: ExistingKeys = { usernames: new Set(['u1']), emails: new Set(['u1@example.org']), mobiles: new Set(['0151']), externalIds: new Set(['azure\u0000a']) };
    expect(errorsOf([valid(1, { Mobile: '0151' }), valid(2, { Provider: 'azure', Id: 'a', Password: '' })], existing).map((e) => e.message)).toEqual([
      'A user with the UserName "u1" is already registered.',
      'A user with the Email "u1@example.org" is already registered.',
      'A user with the Mobile "0151" is already registered.',
      'A user with the Id "a" for provider "azure" is already registered.',
    ]);
  });

  it('respects licence seats: the rows beyond the free seats fail, disabled users need none', () => {
    const rows = [valid(1, { Licence: 'Premium' }), valid(2, { Licence: 'Premium', Enabled: 'false' }), valid(3, { Licence: 'Premium' }), valid(4, { Licence: 'Premium' })];
    expect(errorsOf(rows)).toEqual([
      { row: 4, column: 'Licence', message: 'Licence "Premium" is full: 2 of 2 seats used.' },
      { row: 5, column: 'Licence', message: 'Licence "Premium" is full: 2 of 2 seats used.' },
    ]);
  });

  it('reports every error of every row, and header problems on their own', () => {
    const result = validateSheet(sheet([valid(1, { Email: 'x', Roles: 'Nope' }), valid(2), valid(3, { UserName: '', Enabled: 'maybe' })]), ref, none);
    expect(result.errors).toHaveLength(4);
    expect(result.errorRows).toBe(2);
    const headerProblems = validateSheet(sheet([valid(1)], ['UserName', 'Shoe size']), ref, none);
    expect(headerProblems.errors.map((e) => e.message)).toEqual([
      'Unknown column "Shoe size": it is neither a column of the template nor a custom property.',
      'The required column "Email" is missing.',
    ]);
  });

  it('keeps the first ERRORS_KEPT_MAX errors of a file that is wrong everywhere, and counts them all', () => {
    const rows = Array.from({ length: ERRORS_KEPT_MAX / 2 + 1 }, (_, i) => valid(i, { Email: 'x', Enabled: 'maybe' }));
    rows.push(valid(ERRORS_KEPT_MAX));
    const result = validateSheet(sheet(rows), ref, none);
    expect(result.errors).toHaveLength(ERRORS_KEPT_MAX);
    expect(result.errorCount).toBe(ERRORS_KEPT_MAX + 2);
    expect(result.errorRows).toBe(ERRORS_KEPT_MAX / 2 + 1);
    expect(result.errors.at(-1)).toMatchObject({ row: ERRORS_KEPT_MAX / 2 + 1 });
    expect(result.users).toEqual([]);
  });

  it('reports cell problems (Excel errors) and data under a blank header', () => {
    const s = sheet([valid(1)]);
    s.rows[0].cells[1] = { text: '#N/A', problem: 'The cell holds the Excel error #N/A.' };
    expect(validateSheet(s, ref, none).errors.map((e) => e.message)).toContain('The cell holds the Excel error #N/A.');
    const blank = sheet([{ UserName: 'a', Email: 'a@x.org', '': 'data' }], ['UserName', 'Email', '']);
    expect(validateSheet(blank, ref, none).errors.map((e) => e.message)).toEqual(['Column C holds data but has no header.']);
  });
});
