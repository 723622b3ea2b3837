import { diffChanges } from './audit.service';

describe('diffChanges', () => {
  it('lists only the fields that changed, with before and after', () => {
    expect(diffChanges({ name: 'A', description: null, seats: 5 }, { name: 'B', description: null, seats: 5 })).toEqual({
      name: { from: 'A', to: 'B' },
    });
  });

  it('returns null when nothing changed', () => {
    expect(diffChanges({ roles: ['a', 'b'] }, { roles: ['a', 'b'] })).toBeNull();
  });

  it('never records a password or hash, only that it changed', () => {
    const changes = diffChanges({ passwordHash: '$argon2id$old' }, { passwordHash: '$argon2id$new' });
    expect(changes).toEqual({ passwordHash: { from: '(hidden)', to: '(changed)' } });
    expect(JSON.stringify(changes)).not.toContain('argon2');
  });
});
