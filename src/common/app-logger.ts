import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { LOG_LEVELS, LogLevelName } from '../config/config';

/**
 * Nest's start-up detail: one line per module (InstanceLoader), controller (RoutesResolver) and
 * route (RouterExplorer), about 140 lines that buried the one-time admin password. They are
 * written at `debug` level instead of `log`, so LOG_LEVEL=debug still shows them.
 */
const START_UP_DETAIL = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** The levels a LOG_LEVEL shows: its own and every more severe one (`fatal` always). */
export function logLevelsFor(level: LogLevelName): LogLevel[] {
  return ['fatal', ...LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1)];
}

/** The console logger of `npm start`: Nest's, with its start-up detail moved to `debug`. */
export class AppLogger extends ConsoleLogger {
  constructor(level: LogLevelName) {
    super({ logLevels: logLevelsFor(level) });
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    // Nest's own loggers pass their context as the last parameter.
    const context = optionalParams.length > 0 ? optionalParams[optionalParams.length - 1] : this.context;
    if (typeof context === 'string' && START_UP_DETAIL.has(context)) {
      this.debug(message, ...optionalParams);
      return;
    }
    super.log(message, ...optionalParams);
  }
}
