import type { Request } from 'express';

export type FlashType = 'success' | 'info' | 'warning' | 'error';
export interface FlashMessage {
  type: FlashType;
  text: string;
  /** Optional detail lines (e.g. the skipped items of a bulk action). */
  details?: string[];
}

declare module 'express-session' {
  interface SessionData {
    flash?: FlashMessage[];
  }
}

/** Queues a message for the next page this session renders (POST-redirect-GET). */
export function flash(req: Request, type: FlashType, text: string, details?: string[]): void {
  if (!req.session) return;
  const queue = req.session.flash ?? [];
  queue.push(details && details.length > 0 ? { type, text, details } : { type, text });
  req.session.flash = queue;
}

/** Takes the queued messages out of the session. */
export function takeFlash(req: Request): FlashMessage[] {
  if (!req.session?.flash) return [];
  const messages = req.session.flash;
  delete req.session.flash;
  return messages;
}
