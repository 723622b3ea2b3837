import { Module } from '@nestjs/common';
import { UserProvisioningService } from './provisioning.service';

/** The provisioning core (see `provisioning.service.ts`): every writer of users imports this module. */
@Module({
  providers: [UserProvisioningService],
  exports: [UserProvisioningService],
})
export class ProvisioningModule {}
