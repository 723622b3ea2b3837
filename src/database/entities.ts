import { AuditEvent } from '../audit/audit-event.entity';
import { Contact } from '../contacts/contact.entity';
import { CredentialJob } from '../credentials/credential-job.entity';
import { CustomProperty, UserPropertyValue } from '../custom-properties/custom-property.entity';
import { Department } from '../departments/department.entity';
import { ImportJob } from '../imports/import-job.entity';
import { LicenceType } from '../licences/licence-type.entity';
import { MailMessage } from '../mail/mail-message.entity';
import { Membership } from '../organizations/membership.entity';
import { Organization } from '../organizations/organization.entity';
import { UserProfile } from '../profiles/user-profile.entity';
import { Role } from '../roles/role.entity';
import { IdentityProvider } from '../sso/identity-provider.entity';
import { ClientSettings } from '../settings/client-settings.entity';
import { User } from '../users/user.entity';

/** Every entity of Tessera, registered explicitly (no folder scanning). */
export const ENTITIES = [Organization, Membership, Contact, User, Role, UserProfile, LicenceType, ClientSettings, AuditEvent, Department, CustomProperty, UserPropertyValue, CredentialJob, MailMessage, ImportJob, IdentityProvider];
