/**
 * Every failure the tool reports maps to one documented exit code:
 *   1  the request does not fit, or a check failed
 *   2  usage error (bad size, unknown RMA size, unknown option, bad input file)
 *   3  state missing or corrupt
 *  74  a file could not be read or written (missing folder, permission, disk full, a file where a folder should be)
 *  75  another command holds the state's lock and did not let go in time
 * The message is one line of facts in the domain's words (no command-line
 * option names: the core does not know them). `remedies` say, as codes,
 * what would help; src/commands/hints.ts spells each one for the user.
 * A plain string is a fact in words (it may not name an option either).
 */
export const EXIT_OK = 0;
export const EXIT_FIT = 1;
export const EXIT_USAGE = 2;
export const EXIT_STATE = 3;
/** EX_IOERR (sysexits.h). */
export const EXIT_IO = 74;
/** EX_TEMPFAIL (sysexits.h): try again later. */
export const EXIT_LOCKED = 75;

/**
 * What would help, as facts the command layer turns into option names.
 * Add a code here and its text in src/commands/hints.ts together.
 */
export type Remedy =
  | 'rebuild-state'
  | 'construct-first'
  | 'smaller-dom0'
  | 'smaller-domu'
  | 'smaller-max-mem'
  | 'larger-max-mem'
  | 'other-placement'
  | 'higher-of-at'
  | 'larger-rma'
  | 'smaller-rma'
  | 'smaller-image'
  | 'more-ram'
  | 'larger-devtree-slot'
  | 'page-aligned-address'
  | 'size-syntax'
  | 'nonzero-size'
  | 'rma-size-list'
  | 'profile-ram'
  | 'linear-page-sizes'
  | 'translation-names'
  | 'proposal-translation'
  | 'list-domains'
  | 'unmap-foreign-first'
  | 'larger-balloon-target'
  | 'smaller-balloon-target'
  | 'balloon-other-down'
  | 'populated-buffer'
  | 'larger-hpt'
  | 'smaller-hpt'
  | 'run-validate'
  | 'proposal-xen'
  | 'see-reservations'
  | 'linear-fallback'
  | 'free-disk'
  | 'wait-for-lock';

/** A free-form fact for the user (no option names in the core), or remedy codes. */
export type Advice = string | readonly Remedy[];

export class DombuildError extends Error {
  /** What would help, as codes the command layer spells. */
  readonly remedies: readonly Remedy[];
  /** A fact that helps (e.g. the domains there are), already in words. */
  readonly hint?: string;
  constructor(message: string, readonly exitCode: number, advice?: Advice) {
    super(message);
    this.name = new.target.name;
    this.remedies = typeof advice === 'string' || advice === undefined ? [] : advice;
    this.hint = typeof advice === 'string' ? advice : undefined;
  }
}

/** A DombuildError class for one exit code (each kind stays its own class, for instanceof). */
function kind(exitCode: number): new (message: string, advice?: Advice) => DombuildError {
  return class extends DombuildError {
    constructor(message: string, advice?: Advice) {
      super(message, exitCode, advice);
    }
  };
}

/** The request is well formed but does not fit the machine or the layout. */
export class FitError extends kind(EXIT_FIT) {}
/** A check of a built state failed. */
export class CheckError extends kind(EXIT_FIT) {}
/** The command line or an input file is malformed. */
export class UsageError extends kind(EXIT_USAGE) {}
/** The saved state is missing, truncated, of another version or tampered with. */
export class StateError extends kind(EXIT_STATE) {}
/** A file could not be read or written: the message names it and says why. */
export class IoError extends kind(EXIT_IO) {}
/** Another command is changing the state and did not finish in time. */
export class LockError extends kind(EXIT_LOCKED) {}
