import pino, { type DestinationStream, type Logger } from 'pino';
import { safeError, scrubLogObject, scrubText } from './log-redaction.js';
import { requestLogFields } from './request-context.js';

export type { Logger };

/** Structured JSON logs. Credentials are redacted wherever they could appear. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'roster' },
    // Every line written while serving a request carries its request id, door and tenant (infra/request-context.ts).
    mixin: requestLogFields,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        'authorization',
        'password',
        'secret',
        'token',
        'client_secret',
        'access_token',
        'clientSecret',
        'accessToken',
        'apiKey',
        'scimToken',
        '*.password',
        '*.secret',
        '*.token',
        '*.client_secret',
        '*.access_token',
        '*.clientSecret',
        '*.accessToken',
        '*.apiKey',
        '*.scimToken',
        '*.authorization',
      ],
      censor: '[redacted]',
    },
    // Errors are logged by a whitelist (no row values, statements or quoted data), and every string of a
    // line, the message included, is scrubbed of secrets and e-mail addresses (infra/log-redaction.ts).
    serializers: { err: safeError, error: safeError, msg: scrubText },
    formatters: { log: scrubLogObject },
  };
  return destination ? pino(options, destination) : pino(options);
}
