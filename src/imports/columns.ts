/**
 * The columns of the user import/export workbook (SPEC §4 "Import (Excel)"): the fixed catalogue
 * in its order, what each one means, and how a file's header row is matched against it.
 */

export const STANDARD_COLUMNS = [
  'Id',
  'UserName',
  'FirstName',
  'LastName',
  'FullName',
  'Email',
  'Mobile',
  'Password',
  'Provider',
  'Roles',
  'Enabled',
  'Department',
  'Organizations',
  'Licence',
  'Profile',
] as const;

export type StandardColumn = (typeof STANDARD_COLUMNS)[number];

/** Columns a file must have (every other column may be left out). */
export const REQUIRED_COLUMNS: readonly StandardColumn[] = ['UserName', 'Email'];

export interface ColumnDoc {
  required: string;
  format: string;
  defaultValue: string;
  description: string;
}

/** The second sheet of the template: one line per column. */
export const COLUMN_DOCS: Record<StandardColumn, ColumnDoc> = {
  Id: {
    required: 'for SSO providers',
    format: 'text, up to 200 characters',
    defaultValue: 'empty',
    description: "The user's id at the SSO provider. May be empty for provider local; required and unique per provider otherwise.",
  },
  UserName: {
    required: 'yes',
    format: 'text without spaces, up to 100 characters',
    defaultValue: '-',
    description: 'The unique sign-in name (compared without regard to case).',
  },
  FirstName: { required: 'no', format: 'text, up to 100 characters', defaultValue: 'empty', description: 'First name of the person.' },
  LastName: { required: 'no', format: 'text, up to 100 characters', defaultValue: 'empty', description: 'Last name of the person.' },
  FullName: {
    required: 'no',
    format: 'text, up to 200 characters',
    defaultValue: 'FirstName LastName, or the UserName',
    description: 'Full name of the person as shown in lists.',
  },
  Email: { required: 'yes', format: 'e-mail address, up to 254 characters', defaultValue: '-', description: 'The unique e-mail address of the user.' },
  Mobile: {
    required: 'no',
    format: 'text, up to 40 characters (format the column as Text in Excel)',
    defaultValue: 'empty',
    description: 'Mobile number; unique when given.',
  },
  Password: {
    required: 'for provider local',
    format: 'text meeting the password requirements of the client settings',
    defaultValue: '-',
    description: 'The initial password (provider local only; SSO users never get a password).',
  },
  Provider: { required: 'no', format: 'local, or the key of an identity provider (Settings → Authentication)', defaultValue: 'local', description: 'Where the user signs in.' },
  Roles: {
    required: 'no',
    format: 'role names separated by commas',
    defaultValue: 'the default roles of the client settings',
    description: 'Roles (user groups); each must exist.',
  },
  Enabled: { required: 'no', format: 'true or false', defaultValue: 'true', description: 'Whether the user may sign in. Enabled users occupy a licence seat.' },
  Department: { required: 'no', format: 'the name of an existing department', defaultValue: 'empty', description: "The person's department." },
  Organizations: {
    required: 'no',
    format: 'paths like A/A1 below Global, separated by commas or line breaks',
    defaultValue: 'Global',
    description: 'Organizations the user becomes a member of; the first is the home of the contact.',
  },
  Licence: { required: 'no', format: 'the name of an existing licence type', defaultValue: 'the default licence of the client settings', description: 'Licence type of the user.' },
  Profile: { required: 'no', format: 'the name of an existing user profile', defaultValue: 'the default profile of the client settings', description: 'User profile (start page and menu).' },
};

/** Column of "Download with errors"; the import ignores it, so the file can be fixed and imported again. */
export const ERRORS_COLUMN = 'Import errors';

/** The values offered by the list validations of the template. */
export const PROVIDER_CHOICES = ['local'];
export const ENABLED_CHOICES = ['true', 'false'];

export interface PropertyColumn {
  id: number;
  name: string;
  allowedValues: string[];
  multiValued: boolean;
}

/** The header row of the template and the export: the catalogue, then one column per property. */
export function catalogue(properties: readonly PropertyColumn[]): string[] {
  return [...STANDARD_COLUMNS, ...properties.map((p) => p.name)];
}

export interface HeaderProblem {
  /** 1-based column number in the file. */
  column: number;
  header: string;
  message: string;
}

export interface HeaderMap {
  /** Column index (0-based) of each standard column present in the file. */
  standard: Partial<Record<StandardColumn, number>>;
  properties: { property: PropertyColumn; index: number }[];
  /** Indexes of columns whose header cell is blank. */
  blank: number[];
  /** Number of header cells (blank ones included). */
  width: number;
}

/** Header comparison: case-insensitive, surrounding spaces ignored, inner spacing ignored. */
export function headerKey(header: string): string {
  return header.normalize('NFC').replace(/\s+/g, '').toLowerCase();
}

function looseKey(header: string): string {
  return header.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * Matches a file's header cells against the catalogue and the custom properties. Every unknown
 * or repeated column and every missing required column is a problem; the map is usable only
 * when there are none.
 */
export function matchHeaders(headers: readonly string[], properties: readonly PropertyColumn[]): { map: HeaderMap; problems: HeaderProblem[] } {
  const standardByKey = new Map(STANDARD_COLUMNS.map((c) => [headerKey(c), c] as const));
  // Licence is spelled both ways in the wild.
  standardByKey.set('license', 'Licence');
  const propertyByLoose = new Map(properties.map((p) => [looseKey(p.name), p] as const));
  const propertyByKey = new Map(properties.map((p) => [headerKey(p.name), p] as const));

  const map: HeaderMap = { standard: {}, properties: [], blank: [], width: headers.length };
  const problems: HeaderProblem[] = [];
  const seen = new Map<string, number>();

  headers.forEach((raw, index) => {
    const header = raw ?? '';
    if (header.trim() === '') {
      map.blank.push(index);
      return;
    }
    const column = index + 1;
    if (headerKey(header) === headerKey(ERRORS_COLUMN)) return;
    const standard = standardByKey.get(headerKey(header));
    const property = standard ? undefined : (propertyByLoose.get(looseKey(header)) ?? propertyByKey.get(headerKey(header)));
    const identity = standard ? `s:${standard}` : property ? `p:${property.id}` : null;
    if (!identity) {
      problems.push({ column, header, message: `Unknown column "${header.trim()}": it is neither a column of the template nor a custom property.` });
      return;
    }
    if (seen.has(identity)) {
      problems.push({ column, header, message: `Column "${header.trim()}" appears twice (columns ${seen.get(identity)} and ${column}).` });
      return;
    }
    seen.set(identity, column);
    if (standard) map.standard[standard] = index;
    else if (property) map.properties.push({ property, index });
  });

  for (const required of REQUIRED_COLUMNS) {
    if (map.standard[required] === undefined) problems.push({ column: 0, header: required, message: `The required column "${required}" is missing.` });
  }
  return { map, problems };
}
