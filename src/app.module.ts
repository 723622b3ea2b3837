import { MikroOrmModule } from '@mikro-orm/nestjs';
import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AccessModule } from './access/access.module';
import { AccountsModule } from './accounts/accounts.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { ContactsModule } from './contacts/contacts.module';
import { DepartmentsModule } from './departments/departments.module';
import { CustomPropertiesModule } from './custom-properties/custom-properties.module';
import { FormViewInterceptor } from './common/form';
import { NotFoundModule } from './common/not-found.module';
import { APP_CONFIG } from './config/config';
import { ormOptions } from './database/orm-options';
import { CredentialsModule } from './credentials/credentials.module';
import { HomeModule } from './home/home.module';
import { ImportsModule } from './imports/imports.module';
import { LicencesModule } from './licences/licences.module';
import { MailModule } from './mail/mail.module';
import { OrganizationsModule } from './organizations/organizations.module';
import { UsersModule } from './users/users.module';
import { ProfilesModule } from './profiles/profiles.module';
import { RolesModule } from './roles/roles.module';
import { APP_RUNTIME, AppRuntime } from './runtime';
import { SettingsModule } from './settings/settings.module';
import { SsoModule } from './sso/sso.module';

@Module({})
export class AppModule {
  static forRoot(runtime: AppRuntime): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        MikroOrmModule.forRoot({ ...ormOptions({ databaseUrl: runtime.databaseUrl, poolMax: runtime.poolMax }), registerRequestContext: true }),
        AccessModule,
        AuditModule,
        SettingsModule,
        AuthModule,
        AccountsModule,
        HomeModule,
        RolesModule,
        ProfilesModule,
        LicencesModule,
        OrganizationsModule,
        CustomPropertiesModule,
        ScheduleModule.forRoot(),
        MailModule,
        CredentialsModule,
        ImportsModule,
        UsersModule,
        ContactsModule,
        DepartmentsModule,
        SsoModule,
        // Last: its catch-all route answers every address no other route takes.
        NotFoundModule,
      ],
      providers: [
        { provide: APP_RUNTIME, useValue: runtime },
        { provide: APP_CONFIG, useValue: runtime.config },
        { provide: APP_INTERCEPTOR, useClass: FormViewInterceptor },
      ],
      exports: [APP_RUNTIME, APP_CONFIG],
    };
  }
}
