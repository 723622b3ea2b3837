import { Module } from '@nestjs/common';
import { OrganizationTreePanel } from './organization-tree-panel';
import { OrganizationsController } from './organizations.controller';
import { OrganizationsService } from './organizations.service';

@Module({
  controllers: [OrganizationsController],
  // OrganizationTreePanel: the tree beside the users and contacts lists.
  providers: [OrganizationsService, OrganizationTreePanel],
  exports: [OrganizationsService, OrganizationTreePanel],
})
export class OrganizationsModule {}
