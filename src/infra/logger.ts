import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Credentials are redacted wherever they could appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'roster' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'password', 'secret', 'token', '*.password', '*.secret', '*.token'],
      censor: '[redacted]',
    },
  });
}
