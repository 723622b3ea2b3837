import { hideAddresses } from './hide-addresses';

describe('hideAddresses', () => {
  it('hides addresses not kept, keeps the kept ones whatever their case, and leaves the rest of the text', () => {
    const text = 'New password e-mailed to Root@Example.org (admin, who asked for it); attempt 1.';
    expect(hideAddresses(text, new Set())).toBe('New password e-mailed to (address hidden) (admin, who asked for it); attempt 1.');
    expect(hideAddresses(text, new Set(['root@example.org']))).toBe(text);
  });

  it('finds addresses at the end of a sentence and inside parentheses', () => {
    expect(hideAddresses('New password to be e-mailed to admin (a.b+c@x.example.com).', new Set())).toBe('New password to be e-mailed to admin ((address hidden)).');
    expect(hideAddresses('to lea@example.org.', new Set(['lea@example.org']))).toBe('to lea@example.org.');
  });
});
