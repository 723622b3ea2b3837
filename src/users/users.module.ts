import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { CustomPropertiesModule } from '../custom-properties/custom-properties.module';
import { BulkActionRunner } from './bulk-actions';
import { UsersController } from './users.controller';
import { UserProvisioningService } from './user-provisioning.service';
import { UserAdminService } from './user-admin.service';
import { UserPageService } from './user-page.service';
import { UsersService } from './users.service';

@Module({
  imports: [CustomPropertiesModule, CredentialsModule],
  controllers: [UsersController],
  providers: [UsersService, UserAdminService, UserPageService, UserProvisioningService, BulkActionRunner],
  exports: [UsersService, UserProvisioningService, BulkActionRunner],
})
export class UsersModule {}
