// multer 2 ships no types; it is installed with @nestjs/platform-express. Only what Tessera uses.
declare module 'multer' {
  import type { RequestHandler } from 'express';

  interface MulterLimits {
    fileSize?: number;
    files?: number;
    fields?: number;
    fieldSize?: number;
    parts?: number;
    headerPairs?: number;
  }
  interface StorageEngine {
    _handleFile: unknown;
  }
  interface MulterInstance {
    single(field: string): RequestHandler;
  }
  interface Multer {
    (options: { storage?: StorageEngine; limits?: MulterLimits }): MulterInstance;
    memoryStorage(): StorageEngine;
  }
  const multer: Multer;
  export default multer;
}
