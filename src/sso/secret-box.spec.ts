import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox('a session secret of at least thirty-two characters');

  it('opens what it sealed, and never stores the value in clear', () => {
    const sealed = box.seal('client-secret-42');
    expect(sealed).not.toContain('client-secret-42');
    expect(sealed).toMatch(/^v1:/);
    expect(box.open(sealed)).toBe('client-secret-42');
  });

  it('uses a fresh nonce for each value', () => {
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses a value sealed under another key or altered', () => {
    const sealed = box.seal('client-secret-42');
    expect(() => new SecretBox('another secret of at least thirty-two characters').open(sealed)).toThrow();
    const [v, nonce, tag, body] = sealed.split(':');
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] ^= 1;
    expect(() => box.open([v, nonce, tag, flipped.toString('base64url')].join(':'))).toThrow();
    expect(() => box.open('plain text')).toThrow();
  });
});
