import type { FieldErrors } from '../common/errors';
import { PERSON_MAX, fullNameOf, hasControlCharacters, isEmail, isPhoneNumber, tooLong } from '../people/person-rules';

/**
 * The person fields of the user forms (create and edit): which are required, and the field rules
 * of `people/person-rules` every surface shares. The contact behind a user carries them;
 * `full_name` is derived from first and last name.
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
  else if (tooLong(firstName, PERSON_MAX.name)) errors.firstName = `Use at most ${PERSON_MAX.name} characters for the first name.`;
  if (!lastName) errors.lastName = 'Enter a last name.';
  else if (tooLong(lastName, PERSON_MAX.name)) errors.lastName = `Use at most ${PERSON_MAX.name} characters for the last name.`;
  if (!email) errors.email = 'Enter an e-mail address.';
  else if (!isEmail(email)) errors.email = 'Enter an e-mail address like name@example.org.';
  if (mobile && !isPhoneNumber(mobile)) errors.mobile = `Enter a mobile number with digits, spaces and + ( ) . / - only (up to ${PERSON_MAX.phone} characters).`;
  if (department && !departments.includes(department) && department !== keepDepartment) errors.department = 'Choose a department from the list.';
  if (tooLong(jobTitle, PERSON_MAX.jobTitle)) errors.jobTitle = `Use at most ${PERSON_MAX.jobTitle} characters for the job title.`;
  for (const [field, value] of Object.entries({ firstName, lastName, email, mobile, department, jobTitle })) {
    if (hasControlCharacters(value)) errors[field] = 'Remove the invalid characters.';
  }
  return {
    values: { firstName, lastName, fullName: fullNameOf(firstName, lastName).slice(0, PERSON_MAX.fullName), email, mobile: mobile || null, department: department || null, jobTitle: jobTitle || null },
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
