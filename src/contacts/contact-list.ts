import type { SortKey } from '../common/pagination';

/**
 * Sorting of the contacts list: every sort is a list of key expressions ending with the contact
 * id (so keys are unique); the keyset paging over them is `common/pagination.ts`'s.
 */

export type ContactSort = 'name' | 'email' | 'organization';
export const CONTACT_SORTS: ContactSort[] = ['name', 'email', 'organization'];

/** Every sort: the key expressions (the last is always the contact id, so keys are unique). */
export const SORT_KEYS: Record<ContactSort, SortKey[]> = {
  name: [
    { sql: 'lower(c.full_name)', type: 'string' },
    { sql: 'c.id', type: 'number' },
  ],
  email: [
    { sql: '(c.email is null)', type: 'boolean' },
    { sql: "lower(coalesce(c.email, ''))", type: 'string' },
    { sql: 'c.id', type: 'number' },
  ],
  organization: [
    { sql: 'lower(o.name)', type: 'string' },
    { sql: 'o.id', type: 'number' },
    { sql: 'lower(c.full_name)', type: 'string' },
    { sql: 'c.id', type: 'number' },
  ],
};
