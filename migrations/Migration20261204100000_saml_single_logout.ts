import { Migration } from '@mikro-orm/migrations';

/**
 * SAML single logout. Each SAML provider gets Tessera's own signing key (sealed like the client
 * secret, see `src/sso/secret-box.ts`) and its self-signed certificate (public: it is in the SP
 * metadata). Providers that exist already get theirs when first needed (the key is sealed by the
 * application, which SQL cannot do), so both columns stay nullable.
 *
 * The partial index finds the sessions an IdP's LogoutRequest names (provider and NameID, kept in
 * the session at a SAML sign-in: `src/sso/sso-session.ts`); other sessions are not in it.
 */
export class Migration20261204100000_saml_single_logout extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table identity_providers add column sp_key_sealed text null, add column sp_certificate text null;`);
    this.addSql(`
create index session_saml_name_id_idx on session ((sess #>> '{ssoSignOut,saml,providerId}'), (sess #>> '{ssoSignOut,saml,nameId}'))
  where sess #>> '{ssoSignOut,saml,nameId}' is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists session_saml_name_id_idx;`);
    this.addSql(`alter table identity_providers drop column if exists sp_certificate, drop column if exists sp_key_sealed;`);
  }
}
