import * as yauzl from 'yauzl';
import { csvText } from './csv-reader';
import type { UploadKind } from './sheet-rows';
import { DAMAGED, DOCTYPE_REFUSED, EMPTY_FILE, ENCRYPTED, FileLimits, ImportFileError, MB, megabytes, NOT_A_WORKBOOK } from './upload-limits';

/**
 * The upload gate: the checks an upload passes before it is stored, without inflating anything
 * (magic bytes, encryption, size, the zip's central directory), and the zip opening both it and
 * the xlsx reader use.
 */

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
const MAX_ENTRIES = 10_000;
/** Deflate reaches ~1:1000 on zeros; real workbooks stay far below 1:100. */
const MAX_RATIO = 200;
const RATIO_MIN_SIZE = MB;

export interface GateResult {
  kind: UploadKind;
  /** Sum of the declared uncompressed sizes (xlsx). */
  declaredBytes: number;
}

/**
 * The checks that need no inflating: empty, too large, encrypted / legacy, not a zip, and the
 * central directory's declared sizes and ratios. Runs in milliseconds at upload time.
 */
export async function gateUpload(buffer: Buffer, fileName: string, limits: FileLimits): Promise<GateResult> {
  if (buffer.length === 0) throw new ImportFileError(EMPTY_FILE);
  if (buffer.length > limits.maxBytes) throw new ImportFileError(`The file is larger than the limit of ${megabytes(limits.maxBytes)}.`);
  if (buffer.subarray(0, 8).equals(CFB_MAGIC)) throw new ImportFileError(ENCRYPTED);
  const isZip = buffer.subarray(0, 4).equals(ZIP_MAGIC);
  if (!isZip) {
    if (/\.csv$/i.test(fileName.trim())) {
      csvText(buffer);
      return { kind: 'csv', declaredBytes: buffer.length };
    }
    throw new ImportFileError(NOT_A_WORKBOOK);
  }
  const zip = await openZip(buffer);
  try {
    const entries = await listEntries(zip, limits);
    const names = new Set(entries.map((e) => e.fileName));
    if (!names.has('[Content_Types].xml') || !names.has('xl/workbook.xml')) throw new ImportFileError(NOT_A_WORKBOOK);
    // A DOCTYPE can only stand in an XML prolog: the first bytes of each part tell (the streaming
    // parser refuses one further in as well).
    for (const entry of entries.filter((e) => /\.(xml|rels)$/i.test(e.fileName)).slice(0, PEEK_ENTRIES)) {
      if (/<!(DOCTYPE|ENTITY)/i.test(await peek(zip, entry))) throw new ImportFileError(DOCTYPE_REFUSED);
    }
    return { kind: 'xlsx', declaredBytes: entries.reduce((sum, e) => sum + e.uncompressedSize, 0) };
  } finally {
    zip.close();
  }
}

const PEEK_ENTRIES = 200;
const PEEK_BYTES = 4096;

/** The first few kilobytes of an entry, inflated (the rest is never read). */
function peek(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<string> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) return reject(new ImportFileError(DAMAGED));
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        stream.removeAllListeners('data');
        stream.on('error', () => undefined);
        stream.destroy();
        resolve(Buffer.concat(chunks).toString('latin1'));
      };
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= PEEK_BYTES) finish();
      });
      stream.on('end', finish);
      stream.on('error', () => reject(new ImportFileError(DAMAGED)));
    });
  });
}

export function openZip(buffer: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false, decodeStrings: true }, (error, zip) => {
      if (error || !zip) reject(new ImportFileError(DAMAGED));
      else resolve(zip);
    });
  });
}

/** The central directory, checked entry by entry against the limits (nothing is inflated). */
export function listEntries(zip: yauzl.ZipFile, limits: FileLimits): Promise<yauzl.Entry[]> {
  if (zip.entryCount > MAX_ENTRIES) return Promise.reject(new ImportFileError(`The workbook holds more than ${MAX_ENTRIES} parts: it is refused.`));
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    let declared = 0;
    const fail = (error: Error) => {
      zip.removeAllListeners();
      zip.on('error', () => undefined);
      reject(error);
    };
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.isEncrypted()) return fail(new ImportFileError(ENCRYPTED));
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) return fail(new ImportFileError(DAMAGED));
      declared += entry.uncompressedSize;
      if (declared > limits.maxInflatedBytes) {
        return fail(new ImportFileError(`The workbook would unpack to more than ${megabytes(limits.maxInflatedBytes)}: it is refused.`));
      }
      if (entry.uncompressedSize > RATIO_MIN_SIZE && entry.uncompressedSize / Math.max(entry.compressedSize, 1) > MAX_RATIO) {
        return fail(new ImportFileError(`The workbook is compressed suspiciously well (a "zip bomb"): it is refused.`));
      }
      entries.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', () => fail(new ImportFileError(DAMAGED)));
    zip.readEntry();
  });
}
