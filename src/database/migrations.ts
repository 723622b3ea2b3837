import { Migration20261122000000_initial } from '../../migrations/Migration20261122000000_initial';
import { Migration20261122100000_contacts_users } from '../../migrations/Migration20261122100000_contacts_users';
import { Migration20261122100100_password_send } from '../../migrations/Migration20261122100100_password_send';
import { Migration20261122110000_contacts_email_sort } from '../../migrations/Migration20261122110000_contacts_email_sort';
import { Migration20261122120000_users_list } from '../../migrations/Migration20261122120000_users_list';
import { Migration20261122130000_credential_mail } from '../../migrations/Migration20261122130000_credential_mail';
import { Migration20261122140000_imports } from '../../migrations/Migration20261122140000_imports';
import { Migration20261201000000_users_search } from '../../migrations/Migration20261201000000_users_search';
import { Migration20261202100000_credential_recipient_address } from '../../migrations/Migration20261202100000_credential_recipient_address';
import { Migration20261202130000_sign_in_throttle } from '../../migrations/Migration20261202130000_sign_in_throttle';
import { Migration20261203170000_identity_providers } from '../../migrations/Migration20261203170000_identity_providers';
import { Migration20261203175000_saml_round_trip } from '../../migrations/Migration20261203175000_saml_round_trip';
import { Migration20261204100000_saml_single_logout } from '../../migrations/Migration20261204100000_saml_single_logout';
import { Migration20261204110000_list_choices_version } from '../../migrations/Migration20261204110000_list_choices_version';
import { Migration20261204120000_organization_member_counts } from '../../migrations/Migration20261204120000_organization_member_counts';

/**
 * The migrations in order. Listed in code so that the compiled app, `npm run migrate` and the
 * tests all run the same classes without scanning folders for `.ts` or `.js` files.
 */
export const MIGRATIONS = [
  { name: 'Migration20261122000000_initial', class: Migration20261122000000_initial },
  { name: 'Migration20261122100000_contacts_users', class: Migration20261122100000_contacts_users },
  { name: 'Migration20261122100100_password_send', class: Migration20261122100100_password_send },
  { name: 'Migration20261122110000_contacts_email_sort', class: Migration20261122110000_contacts_email_sort },
  { name: 'Migration20261122120000_users_list', class: Migration20261122120000_users_list },
  { name: 'Migration20261122130000_credential_mail', class: Migration20261122130000_credential_mail },
  { name: 'Migration20261122140000_imports', class: Migration20261122140000_imports },
  { name: 'Migration20261201000000_users_search', class: Migration20261201000000_users_search },
  { name: 'Migration20261202100000_credential_recipient_address', class: Migration20261202100000_credential_recipient_address },
  { name: 'Migration20261202130000_sign_in_throttle', class: Migration20261202130000_sign_in_throttle },
  { name: 'Migration20261203170000_identity_providers', class: Migration20261203170000_identity_providers },
  { name: 'Migration20261203175000_saml_round_trip', class: Migration20261203175000_saml_round_trip },
  { name: 'Migration20261204100000_saml_single_logout', class: Migration20261204100000_saml_single_logout },
  { name: 'Migration20261204110000_list_choices_version', class: Migration20261204110000_list_choices_version },
  { name: 'Migration20261204120000_organization_member_counts', class: Migration20261204120000_organization_member_counts },
];
