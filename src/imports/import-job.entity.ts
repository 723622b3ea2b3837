import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

export type ImportStatus = 'queued' | 'validating' | 'importing' | 'failed' | 'succeeded';

/**
 * One uploaded user file and its run: queued → validating → importing → succeeded, or failed
 * (with its violations in `import_errors`). The file itself (`file_data`) is read and written
 * with SQL only, so that listing jobs never loads it.
 */
@Entity({ tableName: 'import_jobs' })
export class ImportJob {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @Property({ type: 'integer', nullable: true })
  createdById: number | null = null;

  @Property({ type: 'string', length: 100 })
  createdByName!: string;

  @Property({ type: 'string', length: 64, nullable: true })
  createdByIp: string | null = null;

  @Property({ type: 'string', length: 255 })
  fileName!: string;

  @Property({ type: 'integer' })
  fileSize!: number;

  @Property({ type: 'string', length: 10 })
  fileKind!: 'xlsx' | 'csv';

  @Property({ type: 'string', length: 20 })
  status: ImportStatus & Opt = 'queued';

  @Property({ type: 'integer', nullable: true })
  totalRows: number | null = null;

  @Property({ type: 'integer' })
  processedRows: number & Opt = 0;

  @Property({ type: 'integer' })
  importedCount: number & Opt = 0;

  @Property({ type: 'integer' })
  errorCount: number & Opt = 0;

  @Property({ type: 'integer' })
  errorRowCount: number & Opt = 0;

  @Property({ type: 'text', nullable: true })
  message: string | null = null;

  @Property({ type: 'integer' })
  attempts: number & Opt = 0;

  @Property({ type: 'datetime', nullable: true })
  leaseUntil: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', nullable: true })
  startedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  finishedAt: Date | null = null;
}
