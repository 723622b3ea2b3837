import type { FieldErrors } from '../common/errors';
import { PERSON_MAX, hasControlCharacters, isEmail, isPhoneNumber, tooLong } from '../people/person-rules';
import type { ContactKind } from './contact.entity';

/**
 * The contact form's own fields and their rules, as a pure function: which fields a person or
 * an organization contact has, what is required, and the field rules of `people/person-rules`.
 * What needs the database (the department list, the home organization, the employer, e-mail
 * uniqueness) the service checks after this.
 */

export interface ContactInput {
  firstName: string;
  lastName: string;
  fullName: string;
  email: string;
  mobile: string;
  phone: string;
  department: string;
  jobTitle: string;
  employerId: number | null;
  organizationId: number | null;
}

/** The trimmed text fields of the kind (the other kind's fields are empty). */
export type ContactText = Omit<ContactInput, 'employerId' | 'organizationId'>;

export function checkContactFields(kind: ContactKind, input: ContactInput): { text: ContactText; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const person = kind === 'person';
  const firstName = person ? input.firstName.trim() : '';
  const lastName = person ? input.lastName.trim() : '';
  let fullName = input.fullName.trim();
  if (person) {
    check(errors, 'firstName', firstName, PERSON_MAX.name);
    check(errors, 'lastName', lastName, PERSON_MAX.name);
    if (!fullName) fullName = [firstName, lastName].filter(Boolean).join(' ');
    if (!fullName && !errors.firstName && !errors.lastName) errors.firstName = 'Enter a first name, a last name or a full name.';
  } else if (!fullName) {
    errors.fullName = 'Enter the name of the organization contact.';
  }
  check(errors, 'fullName', fullName, PERSON_MAX.fullName);
  const email = input.email.trim();
  if (email && !isEmail(email)) errors.email = 'Enter an e-mail address like name@example.org.';
  const mobile = person ? input.mobile.trim() : '';
  if (mobile && !isPhoneNumber(mobile)) errors.mobile = `Enter a mobile number of digits, spaces and + ( ) - . / (at most ${PERSON_MAX.phone} characters).`;
  const phone = person ? '' : input.phone.trim();
  if (phone && !isPhoneNumber(phone)) errors.phone = `Enter a phone number of digits, spaces and + ( ) - . / (at most ${PERSON_MAX.phone} characters).`;
  const jobTitle = person ? input.jobTitle.trim() : '';
  check(errors, 'jobTitle', jobTitle, PERSON_MAX.jobTitle);
  const department = person ? input.department.trim() : '';
  return { text: { firstName, lastName, fullName, email, mobile, phone, department, jobTitle }, errors };
}

function check(errors: FieldErrors, field: string, value: string, max: number): void {
  if (errors[field]) return;
  if (tooLong(value, max)) errors[field] = `Use at most ${max} characters.`;
  else if (hasControlCharacters(value)) errors[field] = 'This contains characters that cannot be used.';
}
