import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import { hashPassword } from '../accounts/password-hasher';
import { AuditService, AuditSource } from '../audit/audit.service';
import { APP_CONFIG } from '../config/config';
import { JobRunner } from '../jobs/job-runner';
import type { AppConfig } from '../config/config';
import { takenKeys } from '../provisioning/provisioning.queries';
import { ImportError, ImportUser, keysOf, validateSheet } from './import-rules';
import { importUsers, loadReferenceData } from './import-store';
import {
  claimImportAlone,
  ClaimedImport,
  countRunnableImports,
  dropOldFailedFiles,
  isEnabledAdministrator,
  loadImportJob,
  lockImportJob,
  lockImportWrites,
  lockLicences,
  markImportFailed,
  markImporting,
  markImportSucceeded,
  reportImportProgress,
  setImportTotalRows,
  storeErrors,
} from './imports.queries';
import { ImportFileError, ParsedSheet, readUpload } from './workbook-reader';

/** How long a claimed job belongs to the instance that claimed it before another may take it over. */
const LEASE = '10 minutes';
/**
 * A job whose lease ran out while claimed this many times took its worker down with it (the
 * process died holding it: a crash, an out-of-memory kill): it is not tried again, or a file that
 * crashes the server would crash every instance in turn, forever.
 */
const MAX_CRASHES = 2;
export const CRASHED_TWICE = `The import stopped the server running it ${MAX_CRASHES} times (the process ended while reading or importing this file), so it was not tried again. Nothing was imported. Check the file, or split it into smaller files, and upload it again.`;
/** Failed jobs keep their file (for "Download with errors") this long. */
const KEEP_FAILED_FILES = '7 days';
/** Serialises the final write of concurrent imports (their uniqueness checks would race otherwise). */
const IMPORT_LOCK = 7_274_101;

class Revalidated extends Error {
  readonly errors: ImportError[];
  readonly errorCount: number;
  readonly errorRows: number;
  constructor(result: { errors: ImportError[]; errorCount: number; errorRows: number }) {
    super('The file does not pass the rules.');
    ({ errors: this.errors, errorCount: this.errorCount, errorRows: this.errorRows } = result);
  }
}

/** Another instance took the job over (our lease ran out): leave the job to it. */
class TakenOver extends Error {}

/** Hashes at most `concurrency` passwords at a time, so sign-ins stay responsive during a big import. */
export async function hashPasswords(users: ImportUser[], concurrency: number, onProgress: (done: number) => Promise<void>): Promise<(string | null)[]> {
  const hashes: (string | null)[] = new Array(users.length).fill(null);
  let next = 0;
  let done = 0;
  const lanes = Array.from({ length: Math.max(1, concurrency) }, async () => {
    while (next < users.length) {
      const i = next++;
      const password = users[i].password;
      if (password !== null) hashes[i] = await hashPassword(password);
      done++;
      await onProgress(done);
    }
  });
  await Promise.all(lanes);
  return hashes;
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function failureMessage(errors: number, rows: number): string {
  return `Import failed: ${plural(errors, 'error', 'errors')} in ${plural(rows, 'row', 'rows')}.`;
}

/**
 * Runs queued imports on any instance: claims one job at a time with `FOR UPDATE SKIP LOCKED`
 * and a lease (src/jobs/job-runner.ts), reads and validates the whole file, and writes all of it
 * in one transaction or nothing. Polls every IMPORT_POLL_SECONDS and is kicked right after an
 * upload. The job renews its own lease as it goes (file read, validated, every second of hashing).
 */
@Injectable()
export class ImportWorker implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ImportWorker.name);
  private readonly runner = new JobRunner<ClaimedImport, void>(
    {
      name: 'Import worker',
      batchSize: 1,
      concurrency: 1,
      beforePass: () => dropOldFailedFiles(this.rootEm.fork(), KEEP_FAILED_FILES),
      claim: (limit) => claimImportAlone(this.rootEm, { lease: LEASE, maxCrashes: MAX_CRASHES, limit }),
      handle: (job) => this.process(job.id, job.attempts, job.crashed),
    },
    this.logger,
  );
  /**
   * One lane per core: argon2id is pure CPU, so fewer lanes leave cores idle (on 2 cores,
   * `cores - 1` doubled the import's time) and more only queue on libuv's thread pool (4
   * threads by default), where they would delay sign-ins. With one lane per core, two threads
   * of the pool stay free for sign-in verifications, which the OS then shares the CPU with.
   */
  readonly hashConcurrency = Math.max(1, availableParallelism());

  constructor(
    private readonly rootEm: EntityManager,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.runner.poll(this.config.imports.pollSeconds);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }

  /** Looks for work now (after an upload); a no-op while a run is going (it looks again after). */
  kick(): void {
    void this.runner.kick();
  }

  /** Runs until no job is waiting (tests, and the CLI). */
  async drain(): Promise<void> {
    for (;;) {
      await this.runner.kick();
      if ((await countRunnableImports(this.rootEm.fork())) === 0) return;
    }
  }

  private async process(id: number, attempt: number, crashed: boolean): Promise<void> {
    const em = this.rootEm.fork();
    // The file is loaded only for a job that is going to be read.
    const job = await loadImportJob(em, id, !crashed);
    const source: AuditSource = { actorId: job.created_by_id, actorName: job.created_by_name, ip: job.created_by_ip };
    const label = job.file_name;
    try {
      if (crashed) throw new ImportFileError(CRASHED_TWICE);
      if (!job.file_data) throw new ImportFileError('The uploaded file is no longer stored. Upload it again.');
      await this.assertAdministrator(em, job.created_by_id);
      const sheet = await readUpload(job.file_data, job.file_name, this.config.imports);
      await setImportTotalRows(em, id, sheet.rows.length, LEASE);

      const first = await this.validate(em, sheet);
      if (first.errorCount > 0) throw new Revalidated(first);

      await markImporting(em, id, LEASE);
      let lastReport = 0;
      const hashes = await hashPasswords(first.users, this.hashConcurrency, async (done) => {
        if (Date.now() - lastReport < 1000 && done < first.users.length) return;
        lastReport = Date.now();
        await reportImportProgress(em, id, done, LEASE);
      });

      const imported = await em.transactional(async (tx) => {
        await lockImportWrites(tx, IMPORT_LOCK);
        const current = await lockImportJob(tx, id);
        if (current.attempts !== attempt || current.status !== 'importing') throw new TakenOver();
        // Seats: the licence rows stay locked until commit, so the counts below cannot change.
        await lockLicences(tx);
        const final = await this.validate(tx, sheet);
        if (final.errorCount > 0) throw new Revalidated(final);
        if (final.users.length !== first.users.length || final.users.some((u, i) => u.username !== first.users[i].username)) {
          throw new ImportFileError('The file was read differently the second time; import it again.');
        }
        await importUsers(tx, final.users, hashes, source, { id, fileName: label });
        await this.audit.write(
          source,
          {
            action: 'import.succeeded',
            objectType: 'import',
            objectId: id,
            objectLabel: label,
            detail: `Imported ${plural(final.users.length, 'user', 'users')} from ${label}.`,
            changes: { file: { from: null, to: label }, users: { from: null, to: final.users.length } },
          },
          tx,
        );
        await markImportSucceeded(tx, id, final.users.length, `Imported ${plural(final.users.length, 'user', 'users')}.`);
        return final.users.length;
      });
      this.logger.log(`Import ${id} (${label}): ${imported} users imported.`);
    } catch (error) {
      if (error instanceof TakenOver) {
        this.logger.warn(`Import ${id} (${label}) was taken over by another instance after its lease ran out.`);
        return;
      }
      await this.fail(em, id, label, source, error);
    }
  }

  private async validate(em: EntityManager, sheet: ParsedSheet) {
    const reference = await loadReferenceData(em);
    const existing = await takenKeys(em, keysOf(sheet, reference.properties));
    return validateSheet(sheet, reference, existing);
  }

  private async assertAdministrator(em: EntityManager, userId: number | null): Promise<void> {
    if (!(await isEnabledAdministrator(em, userId ?? 0))) throw new ImportFileError('The user who uploaded the file is no longer an Administrator.');
  }

  private async fail(em: EntityManager, id: number, label: string, source: AuditSource, error: unknown): Promise<void> {
    let message: string;
    let errors: ImportError[] = [];
    let errorCount = 0;
    let errorRows = 0;
    const e = error as { code?: string; constraint?: string };
    if (error instanceof Revalidated) {
      ({ errors, errorCount, errorRows } = error);
      message = failureMessage(errorCount, errorRows);
    } else if (error instanceof ImportFileError) {
      message = `Import failed: ${error.message}`;
    } else if (e?.code === '23505') {
      message = 'Import failed: a user with one of these usernames, e-mail addresses or ids was registered meanwhile. Import the file again to see which.';
    } else {
      this.logger.error(`Import ${id} failed unexpectedly: ${(error as Error)?.stack ?? String(error)}`);
      message = 'Import failed: an unexpected error occurred. Nothing was imported.';
    }
    await em.transactional(async (tx) => {
      await storeErrors(tx, id, errors);
      await markImportFailed(tx, id, { errorCount, errorRows, message });
      await this.audit.write(
        source,
        {
          action: 'import.failed',
          objectType: 'import',
          objectId: id,
          objectLabel: label,
          detail: message,
          changes: { file: { from: null, to: label }, errors: { from: null, to: errorCount }, rows: { from: null, to: errorRows } },
        },
        tx,
      );
    });
  }
}
