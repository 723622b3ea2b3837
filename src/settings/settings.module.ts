import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { DisplayTimeZoneInterceptor } from './display-time-zone.interceptor';
import { InterfaceSettingsController } from './interface-settings.controller';
import { InterfaceSettingsService } from './interface-settings.service';
import { PasswordSettingsService } from './password-settings.service';
import { SettingsController } from './settings.controller';
import { SettingsService } from './settings.service';

@Global()
@Module({
  controllers: [SettingsController, InterfaceSettingsController],
  providers: [SettingsService, InterfaceSettingsService, PasswordSettingsService, { provide: APP_INTERCEPTOR, useClass: DisplayTimeZoneInterceptor }],
  exports: [SettingsService],
})
export class SettingsModule {}
