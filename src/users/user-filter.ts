import { parseId, queryText, safeReturnPath, text } from '../common/form';
import { USER_STATUSES, UserListFilter, UserStatus } from './users.service';

/**
 * The users list's filter as it travels: in the list's query string, in the Export link, and in
 * the hidden fields of the bulk-action form and its confirmation page. One reader and one writer,
 * so that the list, the export and "all users matching this filter" select the same users.
 */
export const FILTER_PARAMS = ['q', 'org', 'sub', 'role', 'status', 'licence', 'provider', 'prop', 'value'] as const;

/** A provider key as users hold it (`local` or an identity provider's key). */
const PROVIDER_KEY = /^[a-z0-9][a-z0-9._-]{0,59}$/;

function optionalId(value: unknown): number | undefined {
  return parseId(queryText(value)) ?? undefined;
}

/** The filter of a query string or form body (unknown values are dropped, as if not given). */
export function parseUserFilter(source: Record<string, unknown>): UserListFilter {
  const status = queryText(source.status);
  return {
    q: queryText(source.q) || undefined,
    organizationId: optionalId(source.org),
    withSubOrganizations: queryText(source.sub) === '1',
    roleId: optionalId(source.role),
    status: (USER_STATUSES as readonly string[]).includes(status) ? (status as UserStatus) : undefined,
    licenceId: optionalId(source.licence),
    provider: PROVIDER_KEY.test(queryText(source.provider)) ? queryText(source.provider) : undefined,
    propertyId: optionalId(source.prop),
    propertyValue: queryText(source.value) || undefined,
  };
}

/** The filter as name/value pairs (only the parameters in use), the inverse of `parseUserFilter`. */
export function filterFields(f: UserListFilter): { name: string; value: string }[] {
  const fields: [string, string | number | undefined][] = [
    ['q', f.q],
    ['org', f.organizationId],
    ['sub', f.withSubOrganizations ? '1' : undefined],
    ['role', f.roleId],
    ['status', f.status],
    ['licence', f.licenceId],
    ['provider', f.provider],
    ['prop', f.propertyId],
    ['value', f.propertyValue],
  ];
  return fields.filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '').map(([name, value]) => ({ name, value: String(value) }));
}

/** The filter as a query string (without `?`; empty when nothing is filtered). */
export function filterQueryString(f: UserListFilter): string {
  return new URLSearchParams(filterFields(f).map(({ name, value }): [string, string] => [name, value])).toString();
}

/** Whether the filter narrows the list (the sub-organizations toggle alone does not; a value only with its property). */
export function isFiltered(f: UserListFilter): boolean {
  return Boolean(f.q || f.organizationId || f.roleId || f.status || f.licenceId || f.provider || f.propertyId);
}

/** Where a bulk action goes back to: the list with its filters (and page), never another page. */
export function backToList(body: unknown): string {
  const back = safeReturnPath(text(body, 'back'));
  return back === '/users' || back.startsWith('/users?') ? back : '/users';
}
