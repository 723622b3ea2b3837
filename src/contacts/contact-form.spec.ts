import { ContactInput, checkContactFields } from './contact-form';

const blank: ContactInput = { firstName: '', lastName: '', fullName: '', email: '', mobile: '', phone: '', department: '', jobTitle: '', employerId: null, organizationId: 1 };

describe('contact form rules', () => {
  it('derives the full name of a person and keeps only the fields of the kind', () => {
    const { text, errors } = checkContactFields('person', { ...blank, firstName: ' Ann ', lastName: 'Lee', phone: '123', department: ' Sales ' });
    expect(errors).toEqual({});
    expect(text).toEqual({ firstName: 'Ann', lastName: 'Lee', fullName: 'Ann Lee', email: '', mobile: '', phone: '', department: 'Sales', jobTitle: '' });
    expect(checkContactFields('organization', { ...blank, fullName: 'Nordwind', firstName: 'x', mobile: 'x' }).errors).toEqual({});
  });

  it('names what is missing or malformed', () => {
    expect(checkContactFields('person', blank).errors).toEqual({ firstName: 'Enter a first name, a last name or a full name.' });
    expect(checkContactFields('organization', blank).errors).toEqual({ fullName: 'Enter the name of the organization contact.' });
    expect(checkContactFields('person', { ...blank, lastName: 'x'.repeat(101), jobTitle: 'a\tb' }).errors).toEqual({
      lastName: 'Use at most 100 characters.',
      jobTitle: 'This contains characters that cannot be used.',
    });
  });

  // The rules every surface shares (people/person-rules): what the import and the user forms
  // refuse, the contact form refuses too.
  it('refuses an e-mail address with an empty domain label, and a number without a digit', () => {
    const { errors } = checkContactFields('person', { ...blank, lastName: 'Lee', email: 'ann@example..org', mobile: '(((' });
    expect(errors).toEqual({
      email: 'Enter an e-mail address like name@example.org.',
      mobile: 'Enter a mobile number of digits, spaces and + ( ) - . / (at most 40 characters).',
    });
    expect(checkContactFields('organization', { ...blank, fullName: 'N', phone: '---' }).errors.phone).toMatch(/^Enter a phone number/);
  });
});
