import { PasswordPolicy, passwordPolicyMessage } from '../accounts/password-policy';
import { isFull, usageText } from '../licences/licence-usage';
import { PERSON_MAX, isEmail, isPhoneNumber, phoneKey, tooLong } from '../people/person-rules';
import { TakenKeys, UserKeys, externalKey } from '../provisioning/user-keys';
import { usernameProblem } from '../users/username-format';
import { columnLetter, commaList, lines, organizationList, pathKey } from './cells';
import { HeaderMap, matchHeaders, PropertyColumn, StandardColumn } from './columns';
import type { ParsedSheet, SheetRow } from './workbook-reader';

/**
 * Every rule of SPEC §4 "Import (Excel)" applied to every row, as a pure function of the parsed
 * sheet, the reference data and the keys already taken in the database. All violations of all
 * rows are reported; the users come back only when there is none. The rules are the ones every
 * writer of users follows: the person fields of `people/person-rules`, the username rule of
 * `users/username-format`, the uniqueness keys of the provisioning core (`takenKeys`), the
 * seats of `licences/licence-usage`; the defaults come from the core's `provisioningDefaults`.
 * The worker (`import-worker.ts`) runs them twice and writes through `provisionBatch`.
 */

export const LOCAL = 'local';

export interface Named {
  id: number;
  name: string;
}

export interface LicenceRef extends Named {
  seats: number | null;
  /** Enabled users holding it now. */
  used: number;
}

export interface ReferenceData {
  properties: PropertyColumn[];
  /** Keyed by lower-case name. */
  roles: Map<string, Named>;
  defaultRoleIds: number[];
  /** Keyed by `pathKey` of the names below the root (`a/a1`); the root is ''. */
  organizations: Map<string, Named>;
  rootName: string;
  licences: Map<string, LicenceRef>;
  defaultLicenceId: number | null;
  profiles: Map<string, Named>;
  defaultProfileId: number | null;
  departments: Map<string, string>;
  policy: PasswordPolicy;
  /** Keys of the configured identity providers: a Provider other than `local` must be one. */
  providers: ReadonlySet<string>;
}

/** Keys already registered in the database (normalised like `keysOf`): the provisioning core's `takenKeys`. */
export type ExistingKeys = TakenKeys;

export interface ImportError {
  /** Excel row number; the header row for column problems. */
  row: number;
  column: string;
  value: string;
  message: string;
}

export interface ImportUser {
  rowNumber: number;
  username: string;
  firstName: string | null;
  lastName: string | null;
  fullName: string;
  email: string;
  mobile: string | null;
  /** Clear text until hashed; never stored, logged or reported. */
  password: string | null;
  provider: string;
  externalId: string | null;
  roleIds: number[];
  enabled: boolean;
  department: string | null;
  organizationIds: number[];
  licenceId: number | null;
  profileId: number | null;
  properties: { propertyId: number; values: string[] }[];
}

export interface ValidationResult {
  /** The first `ERRORS_KEPT_MAX` errors, in row order. */
  errors: ImportError[];
  /** Every error found (more than `errors` holds when a file breaks the rules everywhere). */
  errorCount: number;
  /** Number of distinct rows with at least one error. */
  errorRows: number;
  users: ImportUser[];
}

/**
 * The errors a failed import keeps, lists and marks in "Download with errors": enough to fix a
 * file, while a 100,000-row file with every cell wrong (about 1.5 million errors) would take
 * hundreds of megabytes in memory and in `import_errors`. The count stays exact.
 */
export const ERRORS_KEPT_MAX = 10_000;

const PROVIDER = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const VALUE_SHOWN_MAX = 200;

/** The text of a row's cell in a standard column (`''` when the column is absent or empty). */
function cellOf(row: SheetRow, map: HeaderMap, column: StandardColumn): string {
  const index = map.standard[column];
  return index === undefined ? '' : (row.cells[index]?.text ?? '');
}

/** The keys a sheet would register, for looking them up in the database in one query each. */
export function keysOf(sheet: ParsedSheet, properties: PropertyColumn[]): UserKeys {
  const { map } = matchHeaders(sheet.headers, properties);
  const usernames = new Set<string>();
  const emails = new Set<string>();
  const mobiles = new Set<string>();
  const externalIds = new Map<string, [string, string]>();
  for (const row of sheet.rows) {
    const username = cellOf(row, map, 'UserName');
    const email = cellOf(row, map, 'Email');
    const mobile = phoneKey(cellOf(row, map, 'Mobile'));
    const id = cellOf(row, map, 'Id');
    const provider = (cellOf(row, map, 'Provider') || LOCAL).toLowerCase();
    if (username) usernames.add(username.toLowerCase());
    if (email) emails.add(email.toLowerCase());
    if (mobile) mobiles.add(mobile);
    if (id) externalIds.set(externalKey(provider, id), [provider, id]);
  }
  return { usernames: [...usernames], emails: [...emails], mobiles: [...mobiles], externalIds: [...externalIds.values()] };
}

export function validateSheet(sheet: ParsedSheet, ref: ReferenceData, existing: ExistingKeys): ValidationResult {
  const errors: ImportError[] = [];
  const { map, problems } = matchHeaders(sheet.headers, ref.properties);
  for (const p of problems) errors.push({ row: sheet.headerRow, column: p.header.trim(), value: '', message: p.message });
  for (const index of [...map.blank, ...sheet.extraColumns]) {
    if (sheet.rows.some((r) => r.cells[index] && r.cells[index]!.text !== '') || index >= map.width) {
      errors.push({ row: sheet.headerRow, column: columnLetter(index), value: '', message: `Column ${columnLetter(index)} holds data but has no header.` });
    }
  }
  if (errors.length > 0) return { errors, errorCount: errors.length, errorRows: 1, users: [] };
  if (sheet.rows.length === 0) {
    return { errors: [{ row: sheet.headerRow, column: '', value: '', message: 'The file has a header row but no users.' }], errorCount: 1, errorRows: 1, users: [] };
  }

  const users: ImportUser[] = [];
  const firstRow = { username: new Map<string, number>(), email: new Map<string, number>(), mobile: new Map<string, number>(), external: new Map<string, number>() };
  const seatsTaken = new Map<number, number>();
  const errorRows = new Set<number>();
  let errorCount = 0;

  for (const row of sheet.rows) {
    let rowErrors = 0;
    const add = (column: string, value: string, message: string) => {
      if (errors.length < ERRORS_KEPT_MAX) errors.push({ row: row.rowNumber, column, value: column === 'Password' ? '(hidden)' : value.slice(0, VALUE_SHOWN_MAX), message });
      errorCount++;
      rowErrors++;
      errorRows.add(row.rowNumber);
    };
    const get = (column: StandardColumn): string => {
      const index = map.standard[column];
      const cell = index === undefined ? undefined : row.cells[index];
      if (cell?.problem) add(column, cell.text, cell.problem);
      return cell?.text ?? '';
    };
    const duplicate = (kind: keyof typeof firstRow, key: string, column: string, value: string) => {
      const seen = firstRow[kind].get(key);
      if (seen !== undefined) add(column, value, `${column} "${value}" appears more than once in the file (rows ${seen} and ${row.rowNumber}).`);
      else firstRow[kind].set(key, row.rowNumber);
    };

    // Identity.
    const username = get('UserName');
    if (username === '') add('UserName', '', 'UserName is required.');
    else if (usernameProblem(username)) add('UserName', username, usernameProblem(username)!);
    else {
      duplicate('username', username.toLowerCase(), 'UserName', username);
      if (existing.usernames.has(username.toLowerCase())) add('UserName', username, `A user with the UserName "${username}" is already registered.`);
    }

    const email = get('Email');
    if (email === '') add('Email', '', 'Email is required.');
    else if (!isEmail(email)) add('Email', email, `"${email}" is not a valid e-mail address.`);
    else {
      duplicate('email', email.toLowerCase(), 'Email', email);
      if (existing.emails.has(email.toLowerCase())) add('Email', email, `A user with the Email "${email}" is already registered.`);
    }

    const mobile = get('Mobile');
    if (mobile !== '') {
      if (tooLong(mobile, PERSON_MAX.phone)) add('Mobile', mobile, `Mobile must be at most ${PERSON_MAX.phone} characters long.`);
      else if (!isPhoneNumber(mobile)) add('Mobile', mobile, `"${mobile}" is not a phone number.`);
      else {
        duplicate('mobile', phoneKey(mobile), 'Mobile', mobile);
        if (existing.mobiles.has(phoneKey(mobile))) add('Mobile', mobile, `A user with the Mobile "${mobile}" is already registered.`);
      }
    }

    // Names.
    const firstName = get('FirstName');
    const lastName = get('LastName');
    let fullName = get('FullName');
    if (tooLong(firstName, PERSON_MAX.name)) add('FirstName', firstName, `FirstName must be at most ${PERSON_MAX.name} characters long.`);
    if (tooLong(lastName, PERSON_MAX.name)) add('LastName', lastName, `LastName must be at most ${PERSON_MAX.name} characters long.`);
    if (tooLong(fullName, PERSON_MAX.fullName)) add('FullName', fullName, `FullName must be at most ${PERSON_MAX.fullName} characters long.`);
    if (fullName === '') fullName = [firstName, lastName].filter((s) => s !== '').join(' ') || username;

    // Provider, Id and Password.
    const providerText = get('Provider');
    const provider = providerText === '' ? LOCAL : providerText.toLowerCase();
    if (provider !== LOCAL && (provider.length > 60 || !PROVIDER.test(provider))) {
      add('Provider', providerText, 'Provider must be "local" or the name of an SSO provider (letters, digits, dot, dash, underscore).');
    } else if (provider !== LOCAL && !ref.providers.has(provider)) {
      const known = [...ref.providers].sort();
      add(
        'Provider',
        providerText,
        known.length === 0
          ? `No identity provider has the key "${provider}": no identity provider is configured, so Provider must be local (or empty).`
          : `No identity provider has the key "${provider}". Use local or one of the configured providers: ${known.join(', ')}.`,
      );
    }
    const id = get('Id');
    if (id.length > 200) add('Id', id, 'Id must be at most 200 characters long.');
    else if (provider !== LOCAL && id === '') add('Id', '', `Id is required for provider "${provider}".`);
    else if (id !== '') {
      duplicate('external', externalKey(provider, id), 'Id', id);
      if (existing.externalIds.has(externalKey(provider, id))) add('Id', id, `A user with the Id "${id}" for provider "${provider}" is already registered.`);
    }
    const password = get('Password');
    if (provider === LOCAL) {
      if (password === '') add('Password', '', 'Password is required for provider local.');
      else {
        const problem = passwordPolicyMessage(ref.policy, password);
        if (problem) add('Password', password, problem);
      }
    } else if (password !== '') {
      add('Password', password, `Users of provider "${provider}" sign in with their SSO account and never get a password: leave Password empty.`);
    }

    // Roles, Enabled, Department, Organizations, Licence, Profile.
    const rolesText = get('Roles');
    const roleIds: number[] = [];
    if (rolesText === '') roleIds.push(...ref.defaultRoleIds);
    for (const name of commaList(rolesText)) {
      const role = ref.roles.get(name.toLowerCase());
      if (!role) add('Roles', rolesText, `Role "${name}" does not exist.`);
      else if (!roleIds.includes(role.id)) roleIds.push(role.id);
    }

    const enabledRaw = get('Enabled');
    const enabledText = enabledRaw.toLowerCase();
    if (enabledText !== '' && enabledText !== 'true' && enabledText !== 'false') add('Enabled', enabledRaw, 'Enabled must be true or false.');
    const enabled = enabledText !== 'false';

    const departmentText = get('Department');
    let department: string | null = null;
    if (departmentText !== '') {
      department = ref.departments.get(departmentText.toLowerCase()) ?? null;
      if (department === null) add('Department', departmentText, `Department "${departmentText}" does not exist.`);
    }

    const orgText = get('Organizations');
    const organizationIds: number[] = [];
    const paths = organizationList(orgText);
    if (paths.length === 0) organizationIds.push(ref.organizations.get('')!.id);
    for (const path of paths) {
      const org = findOrganization(ref, path);
      if (!org) add('Organizations', orgText, `Organization "${path}" does not exist.`);
      else if (!organizationIds.includes(org.id)) organizationIds.push(org.id);
    }

    const licenceText = get('Licence');
    let licenceId = ref.defaultLicenceId;
    let licence: LicenceRef | undefined = licenceId === null ? undefined : [...ref.licences.values()].find((l) => l.id === licenceId);
    if (licenceText !== '') {
      licence = ref.licences.get(licenceText.toLowerCase());
      licenceId = licence?.id ?? null;
      if (!licence) add('Licence', licenceText, `Licence "${licenceText}" does not exist.`);
    }
    if (licence && enabled && licence.seats !== null) {
      const taken = licence.used + (seatsTaken.get(licence.id) ?? 0);
      if (isFull(taken, licence.seats)) add('Licence', licence.name, `Licence "${licence.name}" is full: ${usageText(taken, licence.seats)}.`);
      else seatsTaken.set(licence.id, (seatsTaken.get(licence.id) ?? 0) + 1);
    }

    const profileText = get('Profile');
    let profileId = ref.defaultProfileId;
    if (profileText !== '') {
      const profile = ref.profiles.get(profileText.toLowerCase());
      profileId = profile?.id ?? null;
      if (!profile) add('Profile', profileText, `Profile "${profileText}" does not exist.`);
    }

    // Custom properties.
    const properties: ImportUser['properties'] = [];
    for (const { property, index } of map.properties) {
      const cell = row.cells[index];
      if (cell?.problem) add(property.name, cell.text, cell.problem);
      const text = cell?.text ?? '';
      if (text === '') continue;
      const values = property.multiValued ? lines(text) : [text];
      if (!property.multiValued && /\n/.test(text)) {
        add(property.name, text, `${property.name} takes a single value (this cell holds several lines).`);
        continue;
      }
      const accepted: string[] = [];
      for (const value of values) {
        if (value.length > 500) {
          add(property.name, value, `${property.name} values must be at most 500 characters long.`);
          continue;
        }
        if (property.allowedValues.length > 0) {
          const allowed = property.allowedValues.find((a) => a.toLowerCase() === value.toLowerCase());
          if (!allowed) {
            add(property.name, value, `"${value}" is not an allowed value of ${property.name} (allowed: ${property.allowedValues.join(', ')}).`);
            continue;
          }
          if (!accepted.includes(allowed)) accepted.push(allowed);
        } else if (!accepted.includes(value)) accepted.push(value);
      }
      properties.push({ propertyId: property.id, values: accepted });
    }

    if (rowErrors === 0) {
      users.push({
        rowNumber: row.rowNumber,
        username,
        firstName: firstName || null,
        lastName: lastName || null,
        fullName,
        email,
        mobile: mobile || null,
        password: provider === LOCAL ? password : null,
        provider,
        externalId: id || null,
        roleIds,
        enabled,
        department,
        organizationIds,
        licenceId,
        profileId,
        properties,
      });
    }
  }
  return { errors, errorCount, errorRows: errorRows.size, users: errorCount === 0 ? users : [] };
}

/** `A/A1`, `Global/A/A1` or `Global`. */
function findOrganization(ref: ReferenceData, path: string): Named | undefined {
  const key = pathKey(path);
  const direct = ref.organizations.get(key);
  if (direct) return direct;
  const root = pathKey(ref.rootName);
  if (key === root) return ref.organizations.get('');
  if (key.startsWith(`${root}/`)) return ref.organizations.get(key.slice(root.length + 1));
  return undefined;
}
