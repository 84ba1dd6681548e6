/**
 * Base of every error Custos raises on purpose. Each layer has exactly one subclass
 * (ConfigError here, StoreError, PolicyError, RecorderError, ProxyError, AdminError,
 * CliError …) so a caller can tell where a failure comes from by its type, and what it is
 * by its `code`. `message` is written for a human.
 */
export abstract class CustosError extends Error {
  abstract readonly layer: string;
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Errors in configuration, durations and other process-wide settings. */
export class ConfigError extends CustosError {
  readonly layer = 'core';
}

/** The message of any thrown value, for logs and readable reasons. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
