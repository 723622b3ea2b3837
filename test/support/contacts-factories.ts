import type { TestApp } from './app';
import type { OrgRow } from './factories';

export interface ContactSpec {
  kind?: 'person' | 'organization';
  first?: string | null;
  last?: string | null;
  /** Defaults to first + last. */
  full?: string;
  email?: string | null;
  department?: string | null;
  employerId?: number | null;
  org: OrgRow;
}

export interface ContactRow {
  id: number;
  fullName: string;
}

/** A contact without a user, inserted directly. */
export async function createContact(t: TestApp, spec: ContactSpec): Promise<ContactRow> {
  const full = spec.full ?? [spec.first, spec.last].filter(Boolean).join(' ');
  const [row] = await t.sql<{ id: number }>(
    `insert into contacts (kind, first_name, last_name, full_name, email, department, employer_id, organization_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
    [spec.kind ?? 'person', spec.first ?? null, spec.last ?? null, full, spec.email ?? null, spec.department ?? null, spec.employerId ?? null, spec.org.id],
  );
  return { id: row.id, fullName: full };
}

/** A department of the managed list. */
export async function createDepartment(t: TestApp, name: string): Promise<number> {
  const [row] = await t.sql<{ id: number }>('insert into departments (name) values ($1) returning id', [name]);
  return row.id;
}

/** The user linked to a contact, if any. */
export async function userOfContact(t: TestApp, contactId: number): Promise<{ id: number; username: string } | undefined> {
  return (await t.sql<{ id: number; username: string }>('select id, username from users where contact_id = $1', [contactId]))[0];
}
