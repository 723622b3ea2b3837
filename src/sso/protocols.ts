import type { FieldErrors } from '../common/errors';
import { text } from '../common/form';
import { isHttpUrl } from '../config/config';
import type { ProviderKind } from './identity-provider.entity';
import { SAML_FORM } from './saml/saml-settings';

/**
 * What the provider pages need to know about one protocol: its name, how its own fields are
 * read from the form into `identity_providers.settings`, and what it shows when editing. The
 * shared form (key, label, just-in-time creation…) is the same for every protocol; the fields of
 * a kind come from the partial `views/partials/sso_<kind>_fields.hbs`.
 */
export interface ProtocolForm {
  kind: ProviderKind;
  name: string;
  /** Reads the kind's fields; problems go into `errors` keyed by field name. */
  read(body: Record<string, unknown>, errors: FieldErrors): Record<string, unknown>;
  /** The form values of stored settings (never a secret). */
  values(settings: Record<string, unknown>): Record<string, string>;
  /** The write-only secret this kind takes, if any (blank on edit keeps the stored one). */
  secret: { label: string; requiredOnCreate: boolean } | null;
  /**
   * Work that needs the network before the form is read (SAML: fetching the metadata URL); run
   * outside the transaction that saves the provider. Problems go into `errors`.
   */
  prepare?(body: Record<string, unknown>, errors: FieldErrors): Promise<Record<string, unknown>>;
}

/** OpenID Connect settings as stored in `settings`. */
export interface OidcSettings {
  issuerUrl: string;
  clientId: string;
  scopes: string;
  /** Claim that is the user's external id (`users.external_id`); default `sub`. */
  externalIdClaim: string;
  emailClaim: string;
  usernameClaim: string;
  firstNameClaim: string;
  lastNameClaim: string;
}

export const OIDC_DEFAULTS: OidcSettings = {
  issuerUrl: '',
  clientId: '',
  scopes: 'openid profile email',
  externalIdClaim: 'sub',
  emailClaim: 'email',
  usernameClaim: 'preferred_username',
  firstNameClaim: 'given_name',
  lastNameClaim: 'family_name',
};

const CLAIM = /^[A-Za-z0-9_.:/-]{1,200}$/;

export function oidcSettings(settings: Record<string, unknown>): OidcSettings {
  const s = settings as Partial<OidcSettings>;
  return { ...OIDC_DEFAULTS, ...Object.fromEntries(Object.entries(s).filter(([, v]) => typeof v === 'string')) } as OidcSettings;
}

const OIDC: ProtocolForm = {
  kind: 'oidc',
  name: 'OpenID Connect',
  secret: { label: 'Client secret', requiredOnCreate: true },
  read(body, errors) {
    const issuerUrl = text(body, 'issuerUrl').replace(/\/+$/, '');
    if (issuerUrl === '') errors.issuerUrl = 'Enter the issuer URL (for Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0).';
    else if (!isHttpUrl(issuerUrl)) errors.issuerUrl = 'The issuer URL must be an https:// (or http://) URL.';
    const clientId = text(body, 'clientId');
    if (clientId === '') errors.clientId = 'Enter the client id (application id) that the provider gave Tessera.';
    else if (clientId.length > 200) errors.clientId = 'The client id can be at most 200 characters.';
    const scopes = text(body, 'scopes').split(/\s+/).filter(Boolean);
    if (scopes.length === 0) scopes.push(...OIDC_DEFAULTS.scopes.split(' '));
    if (!scopes.includes('openid')) errors.scopes = 'The scopes must include "openid".';
    else if (scopes.some((s) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) errors.scopes = 'Scopes are words separated by spaces.';
    const claim = (field: keyof OidcSettings, fallback: string, required: boolean) => {
      const value = text(body, field) || fallback;
      if (value === '' && required) errors[field] = 'Enter a claim name.';
      else if (value !== '' && !CLAIM.test(value)) errors[field] = 'A claim name is letters, digits and _ . : / - (at most 200).';
      return value;
    };
    return {
      issuerUrl,
      clientId,
      scopes: scopes.join(' '),
      externalIdClaim: claim('externalIdClaim', OIDC_DEFAULTS.externalIdClaim, true),
      emailClaim: claim('emailClaim', '', false),
      usernameClaim: claim('usernameClaim', '', false),
      firstNameClaim: claim('firstNameClaim', '', false),
      lastNameClaim: claim('lastNameClaim', '', false),
    } satisfies OidcSettings;
  },
  values(settings) {
    return { ...oidcSettings(settings) };
  },
};

/** Every protocol Tessera speaks, by kind. */
export const PROTOCOLS: Partial<Record<ProviderKind, ProtocolForm>> = { oidc: OIDC, saml: SAML_FORM };

export function protocolOf(kind: string): ProtocolForm | null {
  return Object.prototype.hasOwnProperty.call(PROTOCOLS, kind) ? (PROTOCOLS[kind as ProviderKind] ?? null) : null;
}
