import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor } from '../access/decorators';
import { queryText } from '../common/form';
import { pageLinks, pageSize } from '../common/pagination';
import { UsersService } from './users.service';

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  async index(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const q = queryText(query.q);
    const page = await this.users.list(actor, { q, after: queryText(query.after) || undefined, size: pageSize(query.size) });
    res.render('users/index', { title: 'Users', users: page.rows, q, pages: pageLinks('/users', query, 'after', page.next) });
  }
}
