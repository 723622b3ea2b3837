import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Actor } from '../access/actor';
import type { Permission } from '../access/permissions';
import { NotFoundError, ValidationError } from '../common/errors';
import { flash } from '../common/flash';
import { list, parseId, text } from '../common/form';
import { backToList, filterFields, parseUserFilter } from './user-filter';
import { BULK_MAX, MATCHING_MAX, MatchingChangedError, UsersService } from './users.service';

/**
 * One bulk action of the users list (Enable, Disable, password send date, …), as the runner
 * needs it. The action's service keeps its per-user rules; the runner decides which users:
 * the ticked ones of a page, or — after a confirmation page that states the count and this
 * action's consequence — every user matching the list's filter, in one transaction.
 */
export interface BulkAction<R> {
  /** The permission the action needs; its service checks it again when applying. */
  permission: Permission;
  /** What the confirmation's button does, e.g. "Disable" ("Disable 3,124 users"). */
  verb: string;
  /** What happens to each user and who is skipped, in a sentence or two, for the confirmation page. */
  consequence: string;
  /** Form fields of the list the action reads besides the selection (e.g. `sendAt`), carried through the confirmation. */
  carry?: string[];
  /** Applies the action to these users with the same per-user rules as for ticked users; `max`: most ids allowed. */
  apply(ids: number[], max: number): Promise<R>;
  /** Flashes the result (changed and skipped users). */
  report(req: Request, result: R): void;
}

/**
 * Runs bulk actions of the users list. The list's bulk form posts the ticked `ids`, or
 * `matching=1` with the list's filter in hidden fields; the latter first renders
 * `users/bulk-confirm`, whose form posts back to the same action with `confirmed=<count>`.
 * Every outcome goes back to the list with its filters (the form's `back`).
 */
@Injectable()
export class BulkActionRunner {
  constructor(private readonly users: UsersService) {}

  async run<R>(actor: Actor, req: Request, res: Response, body: Record<string, unknown>, action: BulkAction<R>): Promise<void> {
    const back = backToList(body);
    try {
      if (text(body, 'matching') === '1') {
        const filter = parseUserFilter(body);
        const confirmed = parseId(text(body, 'confirmed'));
        if (confirmed === null) return await this.confirm(actor, req, res, body, action, back);
        const result = await this.users.applyToMatching(actor, filter, action.permission, confirmed, (ids) => action.apply(ids, MATCHING_MAX));
        action.report(req, result);
      } else {
        const ids = list(body, 'ids').map(parseId);
        if (ids.some((id) => id === null)) throw new NotFoundError();
        action.report(req, await action.apply(ids as number[], BULK_MAX));
      }
    } catch (error) {
      if (error instanceof MatchingChangedError) return await this.confirm(actor, req, res, body, action, back, error.message);
      if (!(error instanceof ValidationError)) throw error;
      flash(req, 'error', error.formError ?? error.message);
    }
    res.redirect(303, back);
  }

  /** The confirmation page: the count, the filter in words, what will happen; nothing changes yet. */
  private async confirm<R>(actor: Actor, req: Request, res: Response, body: Record<string, unknown>, action: BulkAction<R>, back: string, warning?: string) {
    const filter = parseUserFilter(body);
    const summary = await this.users.matchingSummary(actor, filter, action.permission);
    const carried = (action.carry ?? []).map((name) => ({ name, value: text(body, name) }));
    // 200, not Nest's 201 for a POST: this page creates nothing.
    res.status(200).render('users/bulk-confirm', {
      title: `${action.verb} all users matching the filter`,
      action: req.path,
      verb: action.verb,
      consequence: action.consequence,
      count: summary.count,
      tooMany: summary.tooMany,
      max: MATCHING_MAX,
      description: summary.description,
      warning: warning ?? null,
      hidden: [...filterFields(filter), ...carried, { name: 'matching', value: '1' }, { name: 'confirmed', value: String(summary.count) }, { name: 'back', value: back }],
      back,
    });
  }
}
