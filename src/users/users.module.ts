import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { CustomPropertiesModule } from '../custom-properties/custom-properties.module';
import { ProvisioningModule } from '../provisioning/provisioning.module';
import { BulkActionRunner } from './bulk-actions';
import { UsersController } from './users.controller';
import { UserAdminService } from './user-admin.service';
import { UserPageService } from './user-page.service';
import { UsersService } from './users.service';

@Module({
  imports: [CustomPropertiesModule, CredentialsModule, ProvisioningModule],
  controllers: [UsersController],
  providers: [UsersService, UserAdminService, UserPageService, BulkActionRunner],
  exports: [UsersService, ProvisioningModule, BulkActionRunner],
})
export class UsersModule {}
