import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';

export interface StartboardCounts {
  users: number;
  contacts: number;
  organizations: number;
}

/** How long /health waits for the database before it answers 503. */
export const HEALTH_TIMEOUT_MS = 2000;

@Injectable()
export class HomeService {
  constructor(
    private readonly em: EntityManager,
    private readonly access: AccessService,
  ) {}

  /** Counts of what the session may see, for the administrator startboard. */
  async counts(actor: Actor): Promise<StartboardCounts> {
    const users = this.access.visibleUsersCondition(actor, 'u');
    const orgs = this.access.organizationsInScopeCondition(actor, 'o');
    const contactOrgs = this.access.organizationsInScopeCondition(actor, 'co');
    const [row] = await this.em.execute(
      `select (select count(*) from users u where ${users.sql})::int as users,
              (select count(*) from contacts c join organizations co on co.id = c.organization_id where ${contactOrgs.sql})::int as contacts,
              (select count(*) from organizations o where ${orgs.sql})::int as organizations`,
      [...users.params, ...contactOrgs.params, ...orgs.params],
    );
    return row as StartboardCounts;
  }

  /**
   * Whether the database answers within `timeoutMs`. A hung server never answers nor fails, so
   * the probe stops waiting: a load balancer polling /health gets its 503 instead of hanging.
   */
  async databaseUp(timeoutMs = HEALTH_TIMEOUT_MS): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const query = this.em
      .execute('select 1')
      .then(
        () => true,
        () => false,
      );
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
