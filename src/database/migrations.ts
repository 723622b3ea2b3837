import { Migration20261122000000_initial } from '../../migrations/Migration20261122000000_initial';

/**
 * The migrations in order. Listed in code so that the compiled app, `npm run migrate` and the
 * tests all run the same classes without scanning folders for `.ts` or `.js` files.
 */
export const MIGRATIONS = [{ name: 'Migration20261122000000_initial', class: Migration20261122000000_initial }];
