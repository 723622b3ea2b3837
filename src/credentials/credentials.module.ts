import { Module } from '@nestjs/common';
import { MailModule } from '../mail/mail.module';
import { UsersModule } from '../users/users.module';
import { Clock } from './clock';
import { CredentialDispatcher } from './credential-dispatcher';
import { CredentialScheduler } from './credential-scheduler';
import { CredentialsController } from './credentials.controller';
import { CredentialsService } from './credentials.service';

@Module({
  imports: [MailModule, UsersModule],
  controllers: [CredentialsController],
  providers: [Clock, CredentialDispatcher, CredentialScheduler, CredentialsService],
  exports: [Clock, CredentialDispatcher],
})
export class CredentialsModule {}
