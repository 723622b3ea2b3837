import { formatInZone, isTimeZone, renderCredentialMail, zonedLocalToUtc } from './credential-mail';

describe('credential mail helpers', () => {
  it('reads a datetime-local value in the client time zone', () => {
    expect(zonedLocalToUtc('2026-11-29T14:05', 'UTC')?.toISOString()).toBe('2026-11-29T14:05:00.000Z');
    expect(zonedLocalToUtc('2026-11-29T14:05', 'Europe/Berlin')?.toISOString()).toBe('2026-11-29T13:05:00.000Z');
    expect(zonedLocalToUtc('2026-07-01T08:00', 'Europe/Berlin')?.toISOString()).toBe('2026-07-01T06:00:00.000Z');
    expect(zonedLocalToUtc('2026-07-01T08:00', 'America/New_York')?.toISOString()).toBe('2026-07-01T12:00:00.000Z');
  });

  it('refuses values that are not dates or do not exist on the wall clock', () => {
    expect(zonedLocalToUtc('tomorrow', 'UTC')).toBeNull();
    expect(zonedLocalToUtc('2026-02-30T10:00', 'UTC')).toBeNull();
    expect(zonedLocalToUtc('2026-03-29T02:30', 'Europe/Berlin')).toBeNull();
  });

  it('formats instants in a zone and knows IANA zones', () => {
    expect(formatInZone(new Date('2026-11-29T13:05:00Z'), 'Europe/Berlin')).toBe('2026-11-29 14:05');
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });

  it('puts username, password, login URL and the first-login rule in both parts, escaping HTML', () => {
    const mail = renderCredentialMail({
      product: 'Tessera',
      fullName: 'Ann <Lee>',
      username: 'alee',
      password: 'Pw&9xyzabcdefghk',
      loginUrl: 'https://t.example/login',
      mustChange: true,
      validUntil: '2026-12-01 10:00',
      timeZone: 'UTC',
      forAdministrator: false,
      requestedBy: 'admin',
      replacesEarlier: false,
    });
    expect(mail.text).toContain('Username: alee');
    expect(mail.text).toContain('Password: Pw&9xyzabcdefghk');
    expect(mail.text).toContain('https://t.example/login');
    expect(mail.text).toContain('choose a new password');
    expect(mail.text).toContain('2026-12-01 10:00');
    expect(mail.html).toContain('Pw&amp;9xyzabcdefghk');
    expect(mail.html).toContain('Ann &lt;Lee&gt;');
  });
});
