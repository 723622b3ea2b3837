/**
 * The provisioning core moved to `src/provisioning/`; this path stays for code written against
 * it (`UserProvisioningService.provision(actor, spec, tx)` is unchanged). New code imports
 * `../provisioning/provisioning.service`.
 */
export type { ProvisionSpec, ProvisionedUser } from '../provisioning/provisioning.service';
export { UserProvisioningService } from '../provisioning/provisioning.service';
