import { Module } from '@nestjs/common';
import { CredentialsModule } from '../credentials/credentials.module';
import { CustomPropertiesModule } from '../custom-properties/custom-properties.module';
import { UsersController } from './users.controller';
import { UserProvisioningService } from './user-provisioning.service';
import { UserAdminService } from './user-admin.service';
import { UsersService } from './users.service';

@Module({
  imports: [CustomPropertiesModule, CredentialsModule],
  controllers: [UsersController],
  providers: [UsersService, UserAdminService, UserProvisioningService],
  exports: [UsersService, UserProvisioningService],
})
export class UsersModule {}
