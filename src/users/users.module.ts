import { Module } from '@nestjs/common';
import { UsersController } from './users.controller';
import { UserProvisioningService } from './user-provisioning.service';
import { UsersService } from './users.service';

@Module({
  controllers: [UsersController],
  providers: [UsersService, UserProvisioningService],
  exports: [UsersService, UserProvisioningService],
})
export class UsersModule {}
