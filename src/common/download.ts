import type { Response } from 'express';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** Headers of an Excel download: `attachment; filename=…` with a plain ASCII fallback and the UTF-8 name (RFC 6266). */
export function xlsxAttachment(res: Response, fileName: string): void {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  res.setHeader('Content-Type', XLSX);
  res.setHeader('Content-Disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`);
  res.setHeader('Cache-Control', 'no-store');
}
