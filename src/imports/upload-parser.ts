import type { NextFunction, Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import { sessionUser } from '../auth/session';

/** An uploaded file as the import sees it. */
export interface Upload {
  fileName: string;
  buffer: Buffer;
}

declare module 'express' {
  interface Request {
    /** The file of a multipart upload to `POST /imports` (set before CSRF is checked). */
    upload?: Upload | null;
    /** Why the upload could not be taken (too large, malformed), for the page. */
    uploadError?: string;
  }
}

export const UPLOAD_PATH = '/imports';
export const UPLOAD_FIELD = 'file';

interface MulterFile {
  originalname: string;
  buffer: Buffer;
}

/**
 * Parses the multipart body of `POST /imports` **before csurf**, so that the CSRF token comes
 * from the form's `_csrf` field (which the form puts before the file) and csurf checks it as for
 * any other form. Only signed-in sessions get their upload parsed at all (an anonymous request
 * keeps an empty body, fails the CSRF check and never costs memory); the file is held in memory
 * up to `maxBytes` (the import's upload limit) and refused beyond.
 */
export function uploadParser(maxBytes: number): RequestHandler {
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxBytes, files: 1, fields: 5, fieldSize: 4096, parts: 8, headerPairs: 50 },
  }).single(UPLOAD_FIELD);
  const megabytes = Math.round((maxBytes / (1024 * 1024)) * 10) / 10;

  return (req: Request, res: Response, next: NextFunction) => {
    const multipart = (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data');
    if (req.method !== 'POST' || req.path !== UPLOAD_PATH || !multipart || !sessionUser(req)) return next();
    parse(req, res, (error?: unknown) => {
      const e = error as { code?: string } | undefined;
      if (e) {
        req.uploadError = e.code === 'LIMIT_FILE_SIZE' ? `The file is larger than the limit of ${megabytes} MB.` : 'The upload could not be read. Choose the file again.';
      }
      const file = (req as Request & { file?: MulterFile }).file;
      req.upload = file && !e ? { fileName: file.originalname, buffer: file.buffer } : null;
      if (!req.body) req.body = {};
      next();
    });
  };
}
