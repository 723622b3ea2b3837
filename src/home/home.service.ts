import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AccessService } from '../access/access.service';
import type { Actor } from '../access/actor';
import { ping, startboardCounts } from './home.queries';

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
    return startboardCounts(this.em, {
      users: this.access.visibleUsersCondition(actor, 'u'),
      contactOrganizations: this.access.organizationsInScopeCondition(actor, 'co'),
      organizations: this.access.organizationsInScopeCondition(actor, 'o'),
    });
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
    const query = ping(this.em).then(
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
