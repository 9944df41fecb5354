import { pino } from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs; anything that looks like a credential is redacted at the source. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'expediter', ...bindings },
    redact: {
      paths: [
        'authorization',
        'token',
        '*.authorization',
        '*.token',
        'headers.authorization',
        'req.headers.authorization',
        'connectionParams.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
