import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Actor } from '../access/actor';
import { CurrentActor, Public } from '../access/decorators';
import { HomeService } from './home.service';

@Controller()
export class HomeController {
  constructor(private readonly home: HomeService) {}

  /** The startboard: areas with counts for administrators; Self-service users go to their account. */
  @Get()
  async startboard(@CurrentActor() actor: Actor, @Res() res: Response) {
    if (actor.startPage !== 'administrator') return res.redirect(303, '/account');
    res.render('home/startboard', { title: 'Startboard', counts: await this.home.counts(actor) });
  }

  /** Liveness and database status, for load balancers and monitoring. */
  @Public()
  @Get('health')
  async health(@Res() res: Response) {
    const database = (await this.home.databaseUp()) ? 'up' : 'down';
    res.status(database === 'up' ? 200 : 503).json({ status: database === 'up' ? 'ok' : 'degraded', database });
  }
}
