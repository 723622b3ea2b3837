import { fullNameOf, isEmail } from '../people/person-rules';
import { parseRoleIds, validatePerson } from './user-form';

const ok = { firstName: ' Ann ', lastName: 'Lee', email: 'ann@example.org', mobile: '', department: '', jobTitle: '' };

describe('user form rules', () => {
  it('trims and derives the full name', () => {
    const { values, errors } = validatePerson(ok, []);
    expect(errors).toEqual({});
    expect(values).toEqual({ firstName: 'Ann', lastName: 'Lee', fullName: 'Ann Lee', email: 'ann@example.org', mobile: null, department: null, jobTitle: null });
    expect(fullNameOf(null, 'Lee')).toBe('Lee');
  });

  it('names every bad field', () => {
    const { errors } = validatePerson({ firstName: '', lastName: 'x'.repeat(101), email: 'nope', mobile: 'abc', department: 'Ghost', jobTitle: 'j'.repeat(101) }, ['Sales']);
    expect(errors).toEqual({
      firstName: 'Enter a first name.',
      lastName: 'Use at most 100 characters for the last name.',
      email: 'Enter an e-mail address like name@example.org.',
      mobile: 'Enter a mobile number with digits, spaces and + ( ) . / - only (up to 40 characters).',
      department: 'Choose a department from the list.',
      jobTitle: 'Use at most 100 characters for the job title.',
    });
  });

  it('accepts a department from the list, or the one the contact already has', () => {
    expect(validatePerson({ ...ok, department: 'Sales' }, ['Sales']).errors).toEqual({});
    expect(validatePerson({ ...ok, department: 'Legacy' }, ['Sales'], 'Legacy').errors).toEqual({});
    expect(validatePerson({ ...ok, mobile: '+49 (30) 123-45/6' }, []).errors).toEqual({});
  });

  it('checks e-mail addresses and role ids', () => {
    expect(isEmail('a.b+c@sub.example.org')).toBe(true);
    expect(isEmail('a b@example.org')).toBe(false);
    expect(isEmail('a@example')).toBe(false);
    expect(parseRoleIds(['2', '3', '2'], [1, 2, 3])).toEqual({ ids: [2, 3], error: null });
    expect(parseRoleIds(['4'], [1, 2, 3]).error).toBe('Choose roles from the list.');
    expect(parseRoleIds(['x'], [1]).error).toBe('Choose roles from the list.');
  });

  // The rules every surface shares (people/person-rules), so that an address the import refuses
  // is refused here too, and a number written as people write it is accepted.
  it('follows the shared person rules', () => {
    expect(validatePerson({ ...ok, email: 'ann@example..org' }, []).errors).toEqual({ email: 'Enter an e-mail address like name@example.org.' });
    expect(validatePerson({ ...ok, mobile: '(030) 1234' }, []).errors).toEqual({});
    expect(validatePerson({ ...ok, jobTitle: 'a\tb' }, []).errors).toEqual({ jobTitle: 'Remove the invalid characters.' });
  });
});
