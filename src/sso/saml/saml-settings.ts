import type { FieldErrors } from '../../common/errors';
import { text } from '../../common/form';
import type { ProtocolForm } from '../protocols';
import { MetadataProblem, parseIdpMetadata } from './saml-metadata';

/** SAML 2.0 settings as stored in `identity_providers.settings`. */
export interface SamlSettings {
  /** The IdP's metadata XML: pasted, or fetched from `metadataUrl` when the provider is saved. */
  metadataXml: string;
  metadataUrl: string;
  /** `NameID`, or the name of the attribute that is the user's external id (`users.external_id`). */
  externalIdAttribute: string;
  emailAttribute: string;
  usernameAttribute: string;
  firstNameAttribute: string;
  lastNameAttribute: string;
}

export const SAML_DEFAULTS: SamlSettings = {
  metadataXml: '',
  metadataUrl: '',
  externalIdAttribute: 'NameID',
  emailAttribute: 'email',
  usernameAttribute: '',
  firstNameAttribute: 'givenName',
  lastNameAttribute: 'surname',
};

export const NAME_ID = 'NameID';
const ATTRIBUTE = /^[A-Za-z0-9_.:/-]{1,200}$/;
/** Metadata of a federation can be large; one IdP's is a few kilobytes. */
const METADATA_MAX = 256 * 1024;

export function samlSettings(settings: Record<string, unknown>): SamlSettings {
  return { ...SAML_DEFAULTS, ...Object.fromEntries(Object.entries(settings).filter(([, v]) => typeof v === 'string')) } as SamlSettings;
}

/**
 * The SAML part of the provider form. The metadata is checked here (entity id, HTTP-Redirect
 * sign-in endpoint, signing certificate) so that a provider that could never sign anyone in is
 * not saved; a metadata URL is fetched by `resolveMetadata` before this runs.
 */
export const SAML_FORM: ProtocolForm = {
  kind: 'saml',
  name: 'SAML 2.0',
  secret: null,
  prepare: (body, errors) => resolveMetadata(body, errors),
  read(body, errors) {
    const metadataXml = text(body, 'metadataXml');
    const metadataUrl = text(body, 'metadataUrl');
    if (metadataXml.length > METADATA_MAX) errors.metadataXml = 'The metadata can be at most 256 KB.';
    else if (!errors.metadataUrl) {
      try {
        parseIdpMetadata(metadataXml);
      } catch (error) {
        if (!(error instanceof MetadataProblem)) throw error;
        errors[metadataUrl !== '' && metadataXml === '' ? 'metadataUrl' : 'metadataXml'] = error.message;
      }
    }
    const attribute = (field: keyof SamlSettings, required: boolean) => {
      const value = text(body, field);
      if (value === '' && required) errors[field] = 'Enter NameID or an attribute name.';
      else if (value !== '' && !ATTRIBUTE.test(value)) errors[field] = 'An attribute name is letters, digits and _ . : / - (at most 200).';
      return value;
    };
    return {
      metadataXml,
      metadataUrl,
      externalIdAttribute: attribute('externalIdAttribute', true),
      emailAttribute: attribute('emailAttribute', false),
      usernameAttribute: attribute('usernameAttribute', false),
      firstNameAttribute: attribute('firstNameAttribute', false),
      lastNameAttribute: attribute('lastNameAttribute', false),
    } satisfies SamlSettings;
  },
  values(settings) {
    return { ...samlSettings(settings) };
  },
};

/**
 * Fetches the metadata from its URL when the administrator gave a URL and no XML, so that the
 * form can check it and the provider keeps a copy (sign-in never waits for the IdP's server).
 * Problems become an error on the URL field.
 */
export async function resolveMetadata(body: Record<string, unknown>, errors: FieldErrors, fetchTimeoutMs = 10_000): Promise<Record<string, unknown>> {
  const url = text(body, 'metadataUrl');
  if (url === '' || text(body, 'metadataXml') !== '') return body;
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme');
  } catch {
    errors.metadataUrl = 'The metadata URL must be an https:// (or http://) URL.';
    return body;
  }
  try {
    const response = await fetch(parsed, { signal: AbortSignal.timeout(fetchTimeoutMs), redirect: 'follow' });
    if (!response.ok) {
      errors.metadataUrl = `The metadata URL answered ${response.status} ${response.statusText}.`.replace(/ \.$/, '.');
      return body;
    }
    const xml = await response.text();
    if (xml.length > METADATA_MAX) {
      errors.metadataUrl = 'The metadata at that URL is larger than 256 KB.';
      return body;
    }
    return { ...body, metadataXml: xml };
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'it did not answer within 10 seconds' : 'it could not be reached';
    errors.metadataUrl = `Tessera could not fetch the metadata: ${reason}.`;
    return body;
  }
}
