import { Global, Module } from '@nestjs/common';
import { PasswordSettingsController } from './password-settings.controller';
import { PasswordSettingsService } from './password-settings.service';
import { SettingsController } from './settings.controller';
import { SettingsService } from './settings.service';

@Global()
@Module({
  controllers: [SettingsController, PasswordSettingsController],
  providers: [SettingsService, PasswordSettingsService],
  exports: [SettingsService],
})
export class SettingsModule {}
