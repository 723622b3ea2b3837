import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { CustomPropertiesModule } from '../custom-properties/custom-properties.module';
import { UsersExportService } from '../imports/users-export';
import { BulkActionRunner } from './bulk-actions';
import { UsersController } from './users.controller';
import { UserProvisioningService } from './user-provisioning.service';
import { UserAdminService } from './user-admin.service';
import { UsersService } from './users.service';

@Module({
  imports: [CustomPropertiesModule, CredentialsModule],
  // GET /users/export is the list's export: UsersController owns every route under /users but
  // the credential pages (/users/:id/credentials, CredentialsController).
  controllers: [UsersController],
  providers: [UsersService, UserAdminService, UserProvisioningService, BulkActionRunner, UsersExportService],
  exports: [UsersService, UserProvisioningService, BulkActionRunner],
})
export class UsersModule {}
