import { Module } from '@nestjs/common';
import { MailController } from './mail.controller';
import { MailService } from './mail.service';
import { MailTransport } from './mail-transport';

@Module({
  controllers: [MailController],
  providers: [MailTransport, MailService],
  exports: [MailTransport],
})
export class MailModule {}
