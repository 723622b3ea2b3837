import type { Request } from 'express';

/** The cookie that binds a SAML request to the browser that started it (see SamlSignInService). */
export const SAML_BROWSER_COOKIE = 'tessera.saml';

/** One cookie of the request (no cookie parser runs for the whole app). */
export function cookieOf(req: Request, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(part.slice(at + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}
