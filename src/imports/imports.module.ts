import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { ImportsController } from './imports.controller';
import { ImportsService } from './imports.service';
import { ImportWorker } from './import-worker';

/** Excel import (background jobs) of users (SPEC §4); the export is a route of the users list. */
@Module({
  imports: [UsersModule],
  controllers: [ImportsController],
  providers: [ImportsService, ImportWorker],
  exports: [ImportWorker],
})
export class ImportsModule {}
