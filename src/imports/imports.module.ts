import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { ImportsController, UsersExportController } from './imports.controller';
import { ImportsService } from './imports.service';
import { ImportWorker } from './import-worker';
import { UsersExportService } from './users-export';

/** Excel import (background jobs) and export of users (SPEC §4). */
@Module({
  imports: [UsersModule],
  controllers: [ImportsController, UsersExportController],
  providers: [ImportsService, ImportWorker, UsersExportService],
  exports: [ImportWorker],
})
export class ImportsModule {}
