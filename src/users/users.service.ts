import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { canListUsers } from '../access/policy';
import { ForbiddenError } from '../common/errors';
import { allOf, userListConditions } from '../common/search';

export interface UserListRow {
  id: number;
  username: string;
  fullName: string;
  email: string | null;
  /** The user's organizations inside the session's scope (names outside it are not shown). */
  organizations: string[];
  /** How many of the user's organizations lie outside the session's scope. */
  otherOrganizations: number;
  roles: string[];
  enabled: boolean;
  locked: boolean;
  lastLoginAt: Date | null;
}

export interface UserListQuery {
  q?: string;
  /** Keyset cursor: the lower-cased username of the last row of the previous page. */
  after?: string;
  size: number;
}

/** The users list: only the users the session may see (SPEC §3), keyset-paged by username. */
@Injectable()
export class UsersService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
  ) {}

  async list(actor: Actor, query: UserListQuery): Promise<{ rows: UserListRow[]; next: string | null }> {
    if (!canListUsers(actor)) throw new ForbiddenError();
    const where = allOf([this.access.visibleUsersCondition(actor, 'u'), ...userListConditions(query.q, query.after)]);
    const scopePath = actor.isAdministrator ? '/' : actor.currentOrganization.path;
    const rows: UserListRow[] = await this.em.getConnection().execute(
      `select u.id, u.username, c.full_name as "fullName", c.email, u.enabled,
              coalesce(u.locked_until > now(), false) as locked, u.last_login_at as "lastLoginAt",
              array(select o.name from memberships m join organizations o on o.id = m.organization_id
                     where m.user_id = u.id and o.path like ? order by o.path) as organizations,
              (select count(*)::int from memberships m join organizations o on o.id = m.organization_id
                where m.user_id = u.id and o.path not like ?) as "otherOrganizations",
              array(select r.name from user_roles ur join roles r on r.id = ur.role_id
                     where ur.user_id = u.id order by r.name) as roles
         from users u join contacts c on c.id = u.contact_id
        where ${where.sql}
        order by lower(u.username)
        limit ?`,
      [`${scopePath}%`, `${scopePath}%`, ...where.params, query.size + 1],
    );
    const visible = rows.slice(0, query.size);
    return { rows: visible, next: rows.length > query.size ? visible[visible.length - 1].username.toLowerCase() : null };
  }
}
