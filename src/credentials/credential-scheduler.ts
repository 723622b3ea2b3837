import { MikroORM } from '@mikro-orm/postgresql';
import { CreateRequestContext } from '@mikro-orm/core';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Cron, CronExpression, SchedulerRegistry } from '@nestjs/schedule';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config';
import { CredentialDispatcher } from './credential-dispatcher';

const JOB_NAME = 'credential-mails';

/**
 * Every minute, sends the credential e-mails that are due (SPEC §4). Every instance runs it;
 * `SKIP LOCKED` claims keep them from sending a job twice. `SCHEDULER=off` leaves it stopped
 * (tests drive the dispatcher themselves).
 */
@Injectable()
export class CredentialScheduler implements OnApplicationBootstrap {
  constructor(
    // Needed by @CreateRequestContext.
    readonly orm: MikroORM,
    private readonly dispatcher: CredentialDispatcher,
    private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.schedulerEnabled) this.registry.getCronJob(JOB_NAME).start();
  }

  @Cron(CronExpression.EVERY_MINUTE, { name: JOB_NAME, disabled: true })
  @CreateRequestContext()
  async tick(): Promise<void> {
    await this.dispatcher.kick();
  }
}
