import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { CustomPropertiesModule } from '../custom-properties/custom-properties.module';
import { UsersExportService } from '../imports/users-export';
import { OrganizationsModule } from '../organizations/organizations.module';
import { ProvisioningModule } from '../provisioning/provisioning.module';
import { BulkActionRunner } from './bulk-actions';
import { UsersController } from './users.controller';
import { UserAdminService } from './user-admin.service';
import { UserPageService } from './user-page.service';
import { UsersService } from './users.service';

@Module({
  imports: [CustomPropertiesModule, CredentialsModule, ProvisioningModule, OrganizationsModule],
  // GET /users/export is the list's export: UsersController owns every route under /users but
  // the credential pages (/users/:id/credentials, CredentialsController).
  controllers: [UsersController],
  providers: [UsersService, UserAdminService, UserPageService, BulkActionRunner, UsersExportService],
  exports: [UsersService, ProvisioningModule, BulkActionRunner],
})
export class UsersModule {}
