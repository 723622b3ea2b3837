import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-local';
import type { SessionUser } from './session';
import { AuthService } from './auth.service';

/** passport-local: checks the form's username and password through `AuthService`. */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'username', passwordField: 'password', passReqToCallback: true });
  }

  async validate(req: Request, username: string, password: string): Promise<SessionUser> {
    const user = await this.auth.authenticate(username, password, req.ip ?? null);
    return { id: user.id, v: user.sessionVersion };
  }
}
