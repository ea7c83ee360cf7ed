/**
 * Every failure the tool reports maps to one documented exit code:
 *   1  the request does not fit, or a check failed
 *   2  usage error (bad size, unknown RMA size, unknown option, bad input file)
 *   3  state missing or corrupt
 * The message is one line saying what is wrong; `hint` says what to try.
 */
export const EXIT_OK = 0;
export const EXIT_FIT = 1;
export const EXIT_USAGE = 2;
export const EXIT_STATE = 3;

export class DombuildError extends Error {
  constructor(message: string, readonly exitCode: number, readonly hint?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request is well formed but does not fit the machine or the layout. */
export class FitError extends DombuildError {
  constructor(message: string, hint?: string) { super(message, EXIT_FIT, hint); }
}

/** A check of a built state failed. */
export class CheckError extends DombuildError {
  constructor(message: string, hint?: string) { super(message, EXIT_FIT, hint); }
}

/** The command line or an input file is malformed. */
export class UsageError extends DombuildError {
  constructor(message: string, hint?: string) { super(message, EXIT_USAGE, hint); }
}

/** The saved state is missing, truncated, of another version or tampered with. */
export class StateError extends DombuildError {
  constructor(message: string, hint?: string) { super(message, EXIT_STATE, hint); }
}
