import { Injectable, PipeTransform } from '@nestjs/common';
import { NotFoundError } from './errors';
import { parseId } from './form';

/**
 * A path id (`@Param('id', ParseIdPipe) id: number`): a positive 32-bit integer, or the 404 page
 * for anything else (an address with a malformed id names nothing).
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<unknown, number> {
  /**
   * Hands a malformed id to the service as `null` instead (`@Param('id', ParseIdPipe.orNull)`),
   * for services that check the session's permission first: a session without it gets its 403
   * whatever the id, and `null` then finds nothing (404).
   */
  static readonly orNull: PipeTransform<unknown, number | null> = { transform: (value: unknown) => parseId(value) };

  transform(value: unknown): number {
    return requireId(value);
  }
}

/** An id from a form field or query parameter, or the 404 page (what `ParseIdPipe` does for a path). */
export function requireId(value: unknown): number {
  const id = parseId(value);
  if (id === null) throw new NotFoundError();
  return id;
}
