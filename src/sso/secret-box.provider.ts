import type { Provider } from '@nestjs/common';
import { APP_RUNTIME, AppRuntime } from '../runtime';
import { SecretBox } from './secret-box';

/** The one `SecretBox` of the app: keyed by SECRETS_KEY, else by the session secret. */
export const SECRET_BOX_PROVIDER: Provider = {
  provide: SecretBox,
  inject: [APP_RUNTIME],
  useFactory: (runtime: AppRuntime) => new SecretBox(runtime.config.secretsKey ?? runtime.sessionSecret),
};
