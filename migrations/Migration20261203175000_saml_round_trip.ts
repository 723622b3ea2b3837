import { Migration } from '@mikro-orm/migrations';

/**
 * What SAML sign-in keeps between the request and the IdP's answer, in the database so the
 * answer may land on any instance: the requests a browser started (used once, for
 * `InResponseTo`) and the ids of accepted assertions until they expire (no replay).
 */
export class Migration20261203175000_saml_round_trip extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table saml_requests (
  id varchar(100) primary key,
  identity_provider_id integer not null references identity_providers (id) on delete cascade,
  browser_hash char(64) not null,
  issued_at varchar(40) not null,
  expires_at timestamptz not null
);`);
    this.addSql(`create index saml_requests_expires_idx on saml_requests (expires_at);`);
    this.addSql(`
create table saml_assertions (
  identity_provider_id integer not null references identity_providers (id) on delete cascade,
  assertion_id varchar(200) not null,
  expires_at timestamptz not null,
  primary key (identity_provider_id, assertion_id)
);`);
    this.addSql(`create index saml_assertions_expires_idx on saml_assertions (expires_at);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists saml_assertions;`);
    this.addSql(`drop table if exists saml_requests;`);
  }
}
