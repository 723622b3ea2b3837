import { All, Controller, Module } from '@nestjs/common';
import { Public } from '../access/decorators';
import { NotFoundError } from './errors';

/**
 * The last route of the app: any address no other route takes answers the 404 page. Being a
 * route (not Express's fallthrough), it passes the access guard, so a signed-in session sees the
 * page with its menu and header; signed out, the same 404 (public: a guessed address does not
 * redirect to the sign-in page).
 */
@Controller()
export class NotFoundController {
  @Public()
  @All('*path')
  notFound(): never {
    throw new NotFoundError();
  }
}

/** Imported last by AppModule, so that its catch-all route is registered after every other. */
@Module({ controllers: [NotFoundController] })
export class NotFoundModule {}
