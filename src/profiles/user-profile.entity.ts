import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

export type ProfileStartPage = 'administrator' | 'self_service';

/** Decides the start page and menu a user sees (Administrator startboard or Self-service). */
@Entity({ tableName: 'user_profiles' })
export class UserProfile {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'string', length: 100 })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description: string | null = null;

  @Property({ type: 'string', length: 20 })
  startPage: ProfileStartPage & Opt = 'self_service';

  @Property({ type: 'string', length: 40, nullable: true })
  builtInKey: string | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();
}
