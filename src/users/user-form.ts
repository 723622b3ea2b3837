import type { FieldErrors } from '../common/errors';

/**
 * The person fields of the user forms (create and edit) and their rules, as pure functions. The
 * contact behind a user carries them; `full_name` is derived from first and last name.
 */
export interface PersonInput {
  firstName: string;
  lastName: string;
  email: string;
  mobile: string;
  department: string;
  jobTitle: string;
}

export interface PersonValues {
  firstName: string;
  lastName: string;
  fullName: string;
  email: string;
  mobile: string | null;
  department: string | null;
  jobTitle: string | null;
}

const EMAIL = /^[^\s@"<>(),;:\\[\]]+@[^\s@"<>(),;:\\[\]]+\.[^\s@"<>(),;:\\[\]]+$/;
const MOBILE = /^\+?[0-9][0-9 ()./-]{2,39}$/;

function chars(s: string): number {
  return [...s].length;
}

/** Whether `value` is a plausible e-mail address (what the forms accept). */
export function isEmail(value: string): boolean {
  return value.length <= 254 && EMAIL.test(value);
}

/** "First Last" (either may be empty). */
export function fullNameOf(firstName: string | null, lastName: string | null): string {
  return [firstName ?? '', lastName ?? ''].map((s) => s.trim()).filter((s) => s !== '').join(' ');
}

/**
 * Checks the person fields; `departments` are the names of the managed list (a stored value
 * outside the list, `keepDepartment`, stays acceptable so that an edit does not force a change).
 */
export function validatePerson(input: PersonInput, departments: string[], keepDepartment: string | null = null): { values: PersonValues; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const firstName = input.firstName.trim();
  const lastName = input.lastName.trim();
  const email = input.email.trim();
  const mobile = input.mobile.trim();
  const department = input.department.trim();
  const jobTitle = input.jobTitle.trim();
  if (!firstName) errors.firstName = 'Enter a first name.';
  else if (chars(firstName) > 100) errors.firstName = 'Use at most 100 characters for the first name.';
  if (!lastName) errors.lastName = 'Enter a last name.';
  else if (chars(lastName) > 100) errors.lastName = 'Use at most 100 characters for the last name.';
  if (!email) errors.email = 'Enter an e-mail address.';
  else if (!isEmail(email)) errors.email = 'Enter an e-mail address like name@example.org.';
  if (mobile && !MOBILE.test(mobile)) errors.mobile = 'Enter a mobile number with digits, spaces and + ( ) . / - only (up to 40 characters).';
  if (department && !departments.includes(department) && department !== keepDepartment) errors.department = 'Choose a department from the list.';
  if (chars(jobTitle) > 100) errors.jobTitle = 'Use at most 100 characters for the job title.';
  for (const [field, value] of Object.entries({ firstName, lastName, email, mobile, department, jobTitle })) {
    if (value.includes('\u0000')) errors[field] = 'Remove the invalid characters.';
  }
  return {
    values: { firstName, lastName, fullName: fullNameOf(firstName, lastName).slice(0, 200), email, mobile: mobile || null, department: department || null, jobTitle: jobTitle || null },
    errors,
  };
}

/** The role ids of a form: every submitted value must be a known id. */
export function parseRoleIds(submitted: string[], known: number[]): { ids: number[]; error: string | null } {
  const ids: number[] = [];
  for (const s of submitted) {
    const n = /^[1-9][0-9]{0,9}$/.test(s) ? Number(s) : NaN;
    if (!known.includes(n)) return { ids: [], error: 'Choose roles from the list.' };
    if (!ids.includes(n)) ids.push(n);
  }
  return { ids, error: null };
}
