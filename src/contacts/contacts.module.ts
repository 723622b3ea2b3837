import { Module } from '@nestjs/common';
import { OrganizationsModule } from '../organizations/organizations.module';
import { UsersModule } from '../users/users.module';
import { ContactsController } from './contacts.controller';
import { ContactsService } from './contacts.service';
import { EnableAccessService } from './enable-access.service';

@Module({
  imports: [UsersModule, OrganizationsModule],
  controllers: [ContactsController],
  providers: [ContactsService, EnableAccessService],
})
export class ContactsModule {}
