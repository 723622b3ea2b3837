import { Global, Module } from '@nestjs/common';
import { InterfaceSettingsController } from './interface-settings.controller';
import { InterfaceSettingsService } from './interface-settings.service';
import { SettingsController } from './settings.controller';
import { SettingsService } from './settings.service';

@Global()
@Module({
  controllers: [SettingsController, InterfaceSettingsController],
  providers: [SettingsService, InterfaceSettingsService],
  exports: [SettingsService],
})
export class SettingsModule {}
